"""FHIR R4 search parameters: definitions per resource type and fast extraction of index rows.

Pure Python, no database. The store calls ``extract_index(resource)`` on every write and bulk-inserts the
returned ``IndexRows`` lists into its token/string/date/reference/quantity/number/uri tables.
"""

from jizuo.fhir.searchparams.extract import extract_index, fallback_params, get_plan
from jizuo.fhir.searchparams.registry import SearchParam, SearchParamRegistry, get_registry, narrow_expression
from jizuo.fhir.searchparams.rows import IndexRows
from jizuo.fhir.searchparams.values import (
    DATE_MAX,
    DATE_MIN,
    LOCAL_TZ,
    normalise_string,
    parse_date_range,
    parse_reference,
)

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "LOCAL_TZ",
    "IndexRows",
    "SearchParam",
    "SearchParamRegistry",
    "extract_index",
    "fallback_params",
    "get_plan",
    "get_registry",
    "narrow_expression",
    "normalise_string",
    "parse_date_range",
    "parse_reference",
]
