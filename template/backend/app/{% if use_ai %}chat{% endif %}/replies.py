"""One assistant reply, from the provider's stream to its stored row: read in a task of its
own, so that a client that leaves cannot cut it short, and ended by one final step,
finish(), whatever happened (success, any failure, a timeout, a shutdown)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field

import anyio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import ServerSentEvent

from app.chat import limits
from app.chat.provider import NO_USAGE, ChatProvider, ProviderError, TextDelta, Turn, Usage
from app.models import Message, MessageStatus

logger = logging.getLogger(__name__)

# What the client is told; the cause goes to the log, never to the client.
UNAVAILABLE = "The assistant is unavailable right now. Please try again."
TOO_SLOW = "The assistant took too long to answer. Please try again."
NOT_SAVED = "The reply could not be saved. Please try again."
# The final store waits this long for the database before it gives up.
STORE_SECONDS = 10
# At shutdown, open replies get this long to end by themselves before they are cut short
# (and stored as failed); within Gunicorn's graceful_timeout (25 s), with room to store.
SHUTDOWN_SECONDS = 10


def event(name: str, **data: object) -> ServerSentEvent:
    return ServerSentEvent(event=name, data=json.dumps(data))


@dataclass
class Reply:
    """A reply as it streams: the row it is stored in, and what finish() stores there."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    # The stream's hold on the chat limits, given back by finish().
    lease: limits.Lease
    parts: list[str] = field(default_factory=list)
    usage: Usage = NO_USAGE
    status: MessageStatus = "streaming"
    # Set when the client has gone. The provider's stream is still read to its end (the
    # deadline and the reply's max tokens bound it), so the usage stored is what is billed.
    client_gone: bool = False
    # Events for the client, in order; the last one is done or error.
    events: asyncio.Queue[ServerSentEvent] = field(default_factory=asyncio.Queue)

    @property
    def content(self) -> str:
        return "".join(self.parts)


class ReplyTasks:
    """The replies this worker is streaming, kept so none is garbage-collected mid-way
    and so that shutdown can let them finish (app.state.chat_replies)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(
        self,
        reply: Reply,
        turns: list[Turn],
        provider: ChatProvider,
        sessionmaker: async_sessionmaker[AsyncSession],
        time_limit: float,
    ) -> None:
        task = asyncio.create_task(run_reply(reply, turns, provider, sessionmaker, time_limit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace: float = SHUTDOWN_SECONDS) -> None:
        """Let open replies end by themselves for `grace` seconds, then cut them short:
        each one still stores itself (finish() is shielded)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def run_reply(
    reply: Reply,
    turns: list[Turn],
    provider: ChatProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    time_limit: float,
) -> None:
    """Stream the provider's reply into reply.events, then finish(); the client's last
    event (done or error) comes after the store, so `done` means stored."""
    failure = UNAVAILABLE
    try:
        # One deadline for the whole reply: a provider that stalls mid-stream, or trickles,
        # must not hold the stream (and its slot) open for ever.
        with anyio.fail_after(time_limit):
            async for item in provider.stream(turns):
                if isinstance(item, TextDelta):
                    reply.parts.append(item.text)
                    if not reply.client_gone:
                        reply.events.put_nowait(event("delta", text=item.text))
                else:
                    reply.usage = item
        reply.status = "cancelled" if reply.client_gone else "complete"
    except TimeoutError:
        reply.status, failure = "failed", TOO_SLOW
        logger.error("Chat reply %s: no complete reply within %s s", reply.message_id, time_limit)
    except ProviderError as exc:
        reply.status = "failed"
        logger.error("Chat reply %s: the provider failed: %s", reply.message_id, exc)
    except asyncio.CancelledError:
        reply.status = "failed"
        logger.warning("Chat reply %s: cut short by shutdown", reply.message_id)
        raise
    except Exception as exc:
        # Our own mistake, not the provider's: the kind of error only, as its text may
        # quote the conversation.
        reply.status = "failed"
        logger.error("Chat reply %s: failed with %s", reply.message_id, type(exc).__name__)
    finally:
        stored = await finish(sessionmaker, reply)
        if not stored:
            failure = NOT_SAVED
        if stored and reply.status == "complete":
            last = event(
                "done",
                conversation_id=str(reply.conversation_id),
                message_id=str(reply.message_id),
                usage={
                    "input_tokens": reply.usage.input_tokens,
                    "output_tokens": reply.usage.output_tokens,
                },
            )
        else:
            last = event("error", message=failure)
        reply.events.put_nowait(last)


async def finish(sessionmaker: async_sessionmaker[AsyncSession], reply: Reply) -> bool:
    """The one final step of every reply, when its status and usage are final. Shielded:
    neither a client that leaves nor a shutdown can skip it. Stores the reply and gives
    its stream back to the limits with the tokens it used, in one transaction; when the
    store fails, the limits still get them, on their own. True when the reply was stored."""
    reply.lease.tokens = reply.usage.input_tokens + reply.usage.output_tokens
    with anyio.CancelScope(shield=True):
        stored = await store(sessionmaker, reply)
        if not reply.lease.released:
            with anyio.move_on_after(STORE_SECONDS):
                await limits.release(sessionmaker, reply.lease)
    return stored


async def store(sessionmaker: async_sessionmaker[AsyncSession], reply: Reply) -> bool:
    """The reply's status, text so far and usage into its row (created with the question).
    Bounded, so a lost database cannot hold the stream open."""
    with anyio.move_on_after(STORE_SECONDS):
        try:
            async with sessionmaker() as session:
                await session.execute(
                    update(Message)
                    .where(Message.id == reply.message_id)
                    .values(
                        status=reply.status,
                        content=reply.content,
                        input_tokens=reply.usage.input_tokens,
                        output_tokens=reply.usage.output_tokens,
                    )
                )
                await limits.release_in(session, reply.lease)
                await session.commit()
            reply.lease.released = True
        except Exception as exc:
            # The kind only: a database error's text carries the statement's parameters.
            logger.error("Chat reply %s: not stored: %s", reply.message_id, type(exc).__name__)
            return False
        return True
    logger.error("Chat reply %s: not stored within %s s", reply.message_id, STORE_SECONDS)
    return False
