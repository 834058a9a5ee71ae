"""The names of the resources districts hold and share: beds of each kind of place, home
isolation places and laboratory tubes, and which kind of facility holds which."""

from __future__ import annotations

from typing import Final

CENTRALISED_QUARANTINE_BED: Final = "centralised_quarantine_bed"
MAKESHIFT_HOSPITAL_BED: Final = "makeshift_hospital_bed"
# Home isolation is watched at home: it is shown against its capacity but never moved.
HOME_ISOLATION_PLACE: Final = "home_isolation_place"
LAB_TUBE: Final = "lab_tube"

BED_RESOURCES: Final = (CENTRALISED_QUARANTINE_BED, MAKESHIFT_HOSPITAL_BED, HOME_ISOLATION_PLACE)
RESOURCES: Final = (*BED_RESOURCES, LAB_TUBE)
RESOURCE_OF_FACILITY_KIND: Final = {
    "centralised_quarantine": CENTRALISED_QUARANTINE_BED,
    "makeshift_hospital": MAKESHIFT_HOSPITAL_BED,
    "home_isolation": HOME_ISOLATION_PLACE,
}
