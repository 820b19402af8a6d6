"""What the sign-in routes answer."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    provider: str
