"""POST /api/chat/stream: the reply as Server-Sent Events, stored when it is complete."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus

from app.chat import limits
from app.chat.provider import ChatProvider, Finished, ProviderError, TextDelta, Turn
from app.chat.schemas import ChatRequest
from app.deps import SessionDep
from app.models import Conversation, Message

router = APIRouter(prefix="/api/chat", tags=["chat"])
logger = logging.getLogger(__name__)

# Earlier turns sent to the provider with each new message.
HISTORY_TURNS = 20
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
        history = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at.desc())
            .limit(HISTORY_TURNS - 1)
        )
        earlier = [Turn(message.role, message.content) for message in reversed(history.all())]
        # A cut-off history may open with a reply; the provider wants the user to speak first.
        while earlier and earlier[0].role != "user":
            earlier.pop(0)
    # 429 over a limit; otherwise the stream counts from this commit until it ends.
    key = limits.client_key(request, user_id)
    lease = await limits.acquire(session, key, request.app.state.settings)
    session.add(Message(conversation_id=conversation.id, role="user", content=body.message))
    await session.commit()

    turns = [*earlier, Turn("user", body.message)]
    events = reply_events(request, conversation.id, turns, provider, lease)
    return EventSourceResponse(
        limits.released_after(events, lease, request.app.state.sessionmaker),
        ping=HEARTBEAT_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
    )


async def reply_events(
    request: Request,
    conversation_id: uuid.UUID,
    turns: list[Turn],
    provider: ChatProvider,
    lease: limits.Lease,
) -> AsyncIterator[ServerSentEvent]:
    """start, one delta per text chunk, then done (or error). If the client goes away,
    sse-starlette cancels this generator, which closes the provider's stream."""
    yield event("start", conversation_id=str(conversation_id))
    parts: list[str] = []
    usage = Finished(input_tokens=0, output_tokens=0)
    try:
        async for item in provider.stream(turns):
            if isinstance(item, TextDelta):
                parts.append(item.text)
                yield event("delta", text=item.text)
            elif isinstance(item, Finished):
                usage = item
                lease.tokens = usage.input_tokens + usage.output_tokens
    except ProviderError:
        logger.exception("Chat provider failed")
        yield event("error", message="The assistant is unavailable right now. Please try again.")
        return

    reply = Message(
        conversation_id=conversation_id,
        role="assistant",
        content="".join(parts),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )
    async with request.app.state.sessionmaker() as session:
        session.add(reply)
        await limits.release_in(session, lease)
        await session.commit()
    lease.released = True
    yield event(
        "done",
        conversation_id=str(conversation_id),
        message_id=str(reply.id),
        usage={"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
    )


def event(name: str, **data: object) -> ServerSentEvent:
    return ServerSentEvent(event=name, data=json.dumps(data))
