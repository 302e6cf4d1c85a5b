"""Upload batches as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class UploadBatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dataset_code: str
    from_record_id: int
    to_record_id: int
    rows: int
    state: str
    attempts: int
    error: str | None
    requested_by: str | None
    created_at: datetime
    sent_at: datetime | None
