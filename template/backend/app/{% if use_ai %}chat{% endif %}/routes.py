"""POST /api/chat/stream: the reply as Server-Sent Events. The question and a row for the
reply are stored before the first event; the reply's text, status and usage when it ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus

from app.chat import limits
from app.chat.provider import ChatProvider, Turn
from app.chat.replies import Reply, ReplyTasks, event
from app.chat.schemas import ChatRequest
from app.deps import SessionDep, SettingsDep
from app.models import Conversation, Message, utcnow

router = APIRouter(prefix="/api/chat", tags=["chat"])

# The most earlier messages read for the history, whatever their size: the query stays
# bounded however long a conversation grows (CHAT_HISTORY_CHARS bounds what is sent).
HISTORY_MESSAGES = 100
# Replies that go into the history: a cancelled one was read to its end, and the app shows
# it; a failed or unfinished one is left out, with its question.
HISTORY_STATUSES = ("complete", "cancelled")
# Platform proxies close idle connections (Railway after 5 minutes); a comment line
# this often keeps a stream open while the provider thinks.
HEARTBEAT_SECONDS = 15

# On SIGTERM (a redeploy) sse-starlette would cut every open stream at once. Instead the
# server stops accepting and lets open replies finish: Gunicorn's graceful timeout bounds
# the wait, and a stream's heartbeat stops when its reply ends.
AppStatus.disable_automatic_graceful_drain()


def get_chat_provider(request: Request) -> ChatProvider:
    provider: ChatProvider = request.app.state.chat_provider
    return provider


ProviderDep = Annotated[ChatProvider, Depends(get_chat_provider)]


@router.post("/stream", response_class=EventSourceResponse)
async def stream_chat(
    body: ChatRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: ProviderDep,
) -> EventSourceResponse:
    # Set by the sign-in dependency when the project has sign-in; None otherwise.
    user_id = getattr(request.state, "user_id", None)
    earlier: list[Turn] = []
    conversation: Conversation | None
    if body.conversation_id is None:
        conversation = Conversation(id=uuid.uuid4(), user_id=user_id)
        session.add(conversation)
    else:
        conversation = await session.get(Conversation, body.conversation_id)
        if conversation is None or conversation.user_id != user_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Conversation not found")
        earlier = await history(session, conversation.id, settings.chat_history_chars)
    # 429 over a limit; otherwise the stream counts from this commit until finish().
    lease = await limits.acquire(session, limits.client_key(request, user_id), settings)
    # The reply's row goes in with the question, in the same commit: no round trip more
    # before the first event, and a row to record the reply in however it ends. A
    # microsecond apart, so the reply sorts after its question.
    asked = utcnow()
    question = Message(
        conversation_id=conversation.id, role="user", content=body.message, created_at=asked
    )
    answer = Message(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        role="assistant",
        content="",
        status="streaming",
        created_at=asked + timedelta(microseconds=1),
    )
    session.add_all([question, answer])
    await session.commit()

    reply = Reply(message_id=answer.id, conversation_id=conversation.id, lease=lease)
    replies: ReplyTasks = request.app.state.chat_replies
    # Started here, not when the response starts: once the row exists, finish() runs.
    replies.start(
        reply,
        [*earlier, Turn("user", body.message)],
        provider,
        request.app.state.sessionmaker,
        settings.chat_reply_timeout_seconds,
    )
    return EventSourceResponse(
        reply_events(reply),
        ping=HEARTBEAT_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
    )


async def reply_events(reply: Reply) -> AsyncIterator[ServerSentEvent]:
    """start, one delta per text chunk, then done (or error), from the reply's task. If
    the client goes away, sse-starlette cancels this generator; the task reads on and
    stores the reply as cancelled."""
    try:
        yield event("start", conversation_id=str(reply.conversation_id))
        while True:
            item = await reply.events.get()
            yield item
            if item.event in ("done", "error"):
                return
    finally:
        reply.client_gone = True


async def history(session: AsyncSession, conversation_id: uuid.UUID, chars: int) -> list[Turn]:
    """The newest earlier turns that fit in `chars` characters, oldest first, alternating
    user and assistant from a question to a reply, as the provider requires."""
    rows = await session.execute(history_query(conversation_id, chars))
    return alternating([Turn(row.role, row.content) for row in rows])


def history_query(conversation_id: uuid.UUID, chars: int) -> Select[tuple[str, str]]:
    """The newest usable messages, newest first, as long as their running length stays
    within `chars`: what is read is bounded by size as well as by count."""
    usable = (
        select(Message.role, Message.content, Message.created_at, Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.status.in_(HISTORY_STATUSES),
            Message.content != "",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(HISTORY_MESSAGES)
        .subquery()
    )
    newest_first = (usable.c.created_at.desc(), usable.c.id.desc())
    running = select(
        usable,
        func.sum(func.length(usable.c.content)).over(order_by=newest_first).label("chars"),
    ).subquery()
    return (
        select(running.c.role, running.c.content)
        .where(running.c.chars <= chars)
        .order_by(running.c.created_at.desc(), running.c.id.desc())
    )


def alternating(newest_first: Sequence[Turn]) -> list[Turn]:
    """Oldest first, from a user turn to an assistant turn, strictly alternating. Walking
    back from the newest reply, a turn out of step is dropped: a question whose reply
    failed (or, stored before replies had a status, never came) is left out."""
    kept: list[Turn] = []
    for turn in newest_first:
        expected = "assistant" if len(kept) % 2 == 0 else "user"
        if turn.role == expected:
            kept.append(turn)
    if len(kept) % 2:  # cut off after a reply: it would open the history
        kept.pop()
    return kept[::-1]
