"""FHIR R4 resource store (see docs/architecture.md)."""
