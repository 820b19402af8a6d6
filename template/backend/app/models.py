"""The tables. The schema is the same whatever the project was generated with, so turning
a feature on later (copier update) needs no migration of its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so Alembic can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """Someone who signed in; one row per provider account."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(32))
    # The provider's stable id for the account (OpenID Connect `sub`).
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Carried in each session token (`ver`); signing out adds one, so every token issued
    # before stops working on every instance at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")


class SignInCode(Base):
    """A finished sign-in waiting for the app to collect its token (POST /api/auth/token):
    once, within seconds, and only with the verifier whose challenge the app sent."""

    __tablename__ = "sign_in_codes"

    # SHA-256 of the code: the database never holds one that could be used.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The app's PKCE S256 challenge: base64url(SHA-256(code_verifier)).
    code_challenge: Mapped[str] = mapped_column(String(43))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Empty when the project has no sign-in.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # History (GET /api/conversations): kept current by app/chat/conversations.py
    # whenever a message is stored.
    TITLE_CHARS: ClassVar[int] = 80
    # The start of its first message.
    title: Mapped[str] = mapped_column(String(TITLE_CHARS), default="", server_default="")
    # When its last message was stored: the list shows the latest activity first.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # One user's conversations, newest first, read page by page; also serves the
    # ON DELETE CASCADE from users.
    __table_args__ = (Index("ix_conversations_user_id_updated_at", "user_id", "updated_at", "id"),)


# An assistant reply's state: streaming while it is written, then complete, failed (the
# provider, a timeout or a shutdown cut it short) or cancelled (its client left; the reply
# was still read to its end, for its usage). Questions are stored complete.
MessageStatus = Literal["streaming", "complete", "failed", "cancelled"]
MESSAGE_STATUS_CHARS = 16


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Literal["user", "assistant"]] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(
        String(MESSAGE_STATUS_CHARS), default="complete", server_default="complete"
    )
    # The provider's token counts, on assistant messages.
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChatLimit(Base):
    """What app/chat/limits.py counts, per key: a user ("user:<id>"), a client address
    without sign-in ("ip:<address>"), or the whole service ("*"). Times are Unix seconds
    and days are UTC days since 1970, so one statement compares them on any database."""

    __tablename__ = "chat_limits"

    KEY_CHARS: ClassVar[int] = 64
    key: Mapped[str] = mapped_column(String(KEY_CHARS), primary_key=True)
    # Streams open now, and when they stop counting if none is released (a killed worker).
    streams: Mapped[int] = mapped_column(default=0)
    leases_expire_at: Mapped[float] = mapped_column(Double, default=0.0)
    # The current minute's window: when it opened and the requests in it.
    window_started_at: Mapped[float] = mapped_column(Double, default=0.0)
    window_requests: Mapped[int] = mapped_column(default=0)
    # Tokens the provider reported today.
    day: Mapped[int] = mapped_column(default=0)
    day_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
