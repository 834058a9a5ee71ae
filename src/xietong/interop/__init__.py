"""Data in and out the way health systems send it: HL7 v2 ORU^R01 and FHIR R4 laboratory results
into the screening intake, and FHIR bulk export of what a user may see."""
