"""What the sign-in routes take and answer."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    provider: str


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class CodeExchange(BaseModel):
    """POST /api/auth/token: the code a sign-in returned with, and the PKCE verifier
    whose challenge the app sent when it started that sign-in."""

    code: str = Field(min_length=1, max_length=128)
    code_verifier: str = Field(min_length=1, max_length=128)
