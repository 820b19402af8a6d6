"""What the chat routes accept."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.text import Text

MAX_MESSAGE_CHARS = 8_000


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    conversation_id: uuid.UUID | None = None
