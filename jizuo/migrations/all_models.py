"""Import every domain's models so Alembic (and tests) see the whole schema."""

from jizuo.apps.chronic import models as chronic_models  # noqa: F401
from jizuo.apps.consult import models as consult_models  # noqa: F401
from jizuo.apps.recognition import models as recognition_models  # noqa: F401
from jizuo.apps.referral import models as referral_models  # noqa: F401
from jizuo.fhir import models as fhir_models  # noqa: F401
from jizuo.fhir.bulk import models as fhir_bulk_models  # noqa: F401
from jizuo.platform.audit import models as audit_models  # noqa: F401
from jizuo.platform.city_upload import models as city_upload_models  # noqa: F401
from jizuo.platform.identity import models as identity_models  # noqa: F401
from jizuo.platform.ingest import models as ingest_models  # noqa: F401
from jizuo.platform.mpi import models as mpi_models  # noqa: F401
from jizuo.platform.notifications import models as notification_models  # noqa: F401
from jizuo.platform.registry import models as registry_models  # noqa: F401
from jizuo.platform.residents import models as resident_models  # noqa: F401
from jizuo.platform.sso import models as sso_models  # noqa: F401
from jizuo.platform.standards import models as standards_models  # noqa: F401
