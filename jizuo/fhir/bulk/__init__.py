"""FHIR bulk data: NDJSON/Bundle import through worker processes and COPY, and the async $export.

Platform-free like the rest of jizuo.fhir: callers hand in a database URL (or a session) and a FhirAccess.
"""

from jizuo.fhir.bulk.importer import (
    ImportReport,
    RejectedLine,
    check_bulk_access,
    import_lines,
    import_ndjson,
    import_resources,
    resource_exists,
    run_pipeline,
)

__all__ = [
    "ImportReport",
    "RejectedLine",
    "check_bulk_access",
    "import_lines",
    "import_ndjson",
    "import_resources",
    "resource_exists",
    "run_pipeline",
]
