"""Import every domain's models so Alembic (and tests) see the whole schema."""

from jizuo.fhir import models as fhir_models  # noqa: F401
from jizuo.fhir.bulk import models as fhir_bulk_models  # noqa: F401
from jizuo.platform.audit import models as audit_models  # noqa: F401
from jizuo.platform.identity import models as identity_models  # noqa: F401
from jizuo.platform.mpi import models as mpi_models  # noqa: F401
from jizuo.platform.registry import models as registry_models  # noqa: F401
from jizuo.platform.residents import models as resident_models  # noqa: F401
from jizuo.platform.sso import models as sso_models  # noqa: F401
