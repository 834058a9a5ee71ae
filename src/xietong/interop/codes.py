"""The codes laboratories send: the test by LOINC, the result by SNOMED CT, mapped to the
screening outcomes. Pure tables, no database.

The result codes are ReportStream's covid-19 `test_result` value set (CDC's prime-reportstream,
covid-19 schema), including its pooled-specimen results; the test codes are the SARS-CoV-2 RNA
codes (presence, and cycle threshold) that laboratories use for PCR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# HL7 v2 names of the same code systems (table 0396).
V2_SYSTEMS = {"LN": LOINC, "SCT": SNOMED, "SNM": SNOMED}

TestKind = Literal["presence", "ct"]

# SARS-CoV-2 RNA by nucleic acid amplification: a qualitative result, or a cycle threshold.
TESTS: dict[str, tuple[TestKind, str]] = {
    "94500-6": ("presence", "SARS-CoV-2 RNA [Presence] in Respiratory specimen by NAA with probe"),
    "94309-2": ("presence", "SARS-CoV-2 RNA [Presence] in Specimen by NAA with probe detection"),
    "94533-7": ("presence", "SARS-CoV-2 N gene [Presence] in Respiratory specimen by NAA"),
    "94534-5": ("presence", "SARS-CoV-2 RdRp gene [Presence] in Respiratory specimen by NAA"),
    "94559-2": ("presence", "SARS-CoV-2 ORF1ab region [Presence] in Respiratory specimen by NAA"),
    "94759-8": ("presence", "SARS-CoV-2 RNA [Presence] in Nasopharynx by NAA with probe"),
    "94845-5": ("presence", "SARS-CoV-2 RNA [Presence] in Saliva by NAA with probe detection"),
    "95406-5": ("presence", "SARS-CoV-2 RNA [Presence] in Nose by NAA with probe detection"),
    "94745-7": ("ct", "SARS-CoV-2 RNA [Cycle Threshold #] in Respiratory specimen by NAA"),
    "94746-5": ("ct", "SARS-CoV-2 RNA [Cycle Threshold #] in Specimen by NAA with probe"),
    "94509-7": ("ct", "SARS-CoV-2 E gene [Cycle Threshold #] in Specimen by NAA"),
    "94510-5": ("ct", "SARS-CoV-2 N gene [Cycle Threshold #] in Specimen by NAA"),
    "94511-3": ("ct", "SARS-CoV-2 ORF1ab region [Cycle Threshold #] in Specimen by NAA"),
}

Outcome = Literal["negative", "positive", "invalid"]


@dataclass(frozen=True)
class ResultCode:
    outcome: Outcome
    display: str
    pooled: bool = False


# ReportStream's covid-19 test_result value set. Equivocal, inconclusive and presumptive results
# ask for a new swab as an invalid tube does; codes of that set which are not a test result
# (the disease, the organism, a vaccination) are refused.
RESULTS: dict[str, ResultCode] = {
    "260373001": ResultCode("positive", "Detected"),
    "10828004": ResultCode("positive", "Positive"),
    "462371000124108": ResultCode("positive", "Detected in pooled specimen", pooled=True),
    "260415000": ResultCode("negative", "Not detected"),
    "260385009": ResultCode("negative", "Negative"),
    "895231008": ResultCode("negative", "Not detected in pooled specimen", pooled=True),
    "720735008": ResultCode("invalid", "Presumptive positive"),
    "42425007": ResultCode("invalid", "Equivocal"),
    "419984006": ResultCode("invalid", "Inconclusive"),
    "82334004": ResultCode("invalid", "Indeterminate"),
    "125154007": ResultCode("invalid", "Specimen unsatisfactory for evaluation"),
    "455371000124106": ResultCode("invalid", "Invalid result"),
}

# What we send back for each outcome (export): the pooled codes for a tube of more than one swab.
OUTCOME_CODES: dict[tuple[str, bool], str] = {
    ("positive", False): "260373001",
    ("positive", True): "462371000124108",
    ("negative", False): "260415000",
    ("negative", True): "895231008",
    ("invalid", False): "455371000124106",
    ("invalid", True): "455371000124106",
}


class UnknownCode(ValueError):
    """A code outside the tables above; the message is the reason shown to the sender."""


def kind_of_test(code: str, system: str = LOINC) -> TestKind:
    """What an observation code measures: a SARS-CoV-2 RNA presence or a cycle threshold."""
    if system != LOINC:
        raise UnknownCode(f"the test must be coded in LOINC, not {system or 'no system'}")
    found = TESTS.get(code)
    if found is None:
        raise UnknownCode(
            f"unknown LOINC test code {code!r} (expected a SARS-CoV-2 RNA code, e.g. 94500-6)"
        )
    return found[0]


def result_outcome(code: str, system: str = SNOMED) -> ResultCode:
    """The screening outcome of a SNOMED CT result code."""
    if system != SNOMED:
        raise UnknownCode(f"the result must be coded in SNOMED CT, not {system or 'no system'}")
    found = RESULTS.get(code)
    if found is None:
        raise UnknownCode(
            f"unknown SNOMED CT result code {code!r} (expected one of ReportStream's "
            "covid-19 test results, e.g. 260415000 Not detected)"
        )
    return found
