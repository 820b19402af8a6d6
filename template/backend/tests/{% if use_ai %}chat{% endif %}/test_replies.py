"""A reply's task on its own: what a shutdown does to a reply still streaming."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.limits import Lease
from app.chat.provider import TextDelta, Turn, Usage
from app.chat.replies import UNAVAILABLE, Reply, ReplyTasks
from app.core.config import Settings
from app.db import create_engine, create_sessionmaker
from app.models import Conversation, Message


class StallingProvider:
    """Says "Hel", then nothing, for ever."""

    async def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Usage]:
        yield Usage(input_tokens=5, output_tokens=1)
        yield TextDelta("Hel")
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        pass


async def test_a_shutdown_cuts_open_replies_short_and_still_stores_them(
    db: AsyncSession, settings: Settings
) -> None:
    conversation = Conversation(id=uuid.uuid4())
    answer = Message(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        role="assistant",
        content="",
        status="streaming",
    )
    db.add_all([conversation, answer])
    await db.commit()
    engine = create_engine(settings.sqlalchemy_database_url)
    try:
        tasks = ReplyTasks()
        reply = Reply(
            message_id=answer.id, conversation_id=conversation.id, lease=Lease("ip:192.0.2.1")
        )
        tasks.start(
            reply, [Turn("user", "Hi")], StallingProvider(), create_sessionmaker(engine), 60
        )
        assert json.loads(str((await reply.events.get()).data)) == {"text": "Hel"}
        await tasks.close(grace=0)
    finally:
        await engine.dispose()

    await db.refresh(answer)
    assert (answer.status, answer.content, answer.input_tokens) == ("failed", "Hel", 5)
    # Its stream given back to the limits, with the tokens it used.
    assert (reply.lease.released, reply.lease.tokens) == (True, 6)
    last = await reply.events.get()
    assert (last.event, json.loads(str(last.data))) == ("error", {"message": UNAVAILABLE})
