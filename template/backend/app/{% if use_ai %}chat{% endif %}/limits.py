"""Chat limits kept in the database, so every worker of every instance sees the same counts:
open streams, requests a minute and tokens a day per key (a signed-in user, or a client
address without sign-in), and tokens a day for the whole service.

acquire() is one INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING, run in the
transaction that stores the user's message: the database's row lock (Postgres) or its
single writer (SQLite) makes check-and-count atomic across processes, and it adds one
round trip before the stream starts. A refusal reads the row once more to say why.
release_in() gives the stream back and adds the tokens the provider reported, in the
transaction that stores the reply; release() does it on its own for a stream that ended
without one.

A worker killed mid-stream never releases its streams: they stop counting LEASE_SECONDS
after the key's latest acquire. (Libraries such as `limits` keep their counters in memory,
Redis or Memcached, none in SQL, and none counts open streams or tokens.)"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, cast

import anyio
from fastapi import HTTPException, Request, status
from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.models import ChatLimit

# Longer than any stream lasts (a reply is at most MAX_REPLY_TOKENS; the Anthropic SDK
# gives up on a silent request after 10 minutes), so a live stream keeps its slot.
LEASE_SECONDS = 11 * 60
WINDOW_SECONDS = 60
DAY_SECONDS = 86_400
# A stream takes seconds: asking again this much later is an honest guess.
STREAMS_RETRY_SECONDS = 5
# The whole service's row.
SERVICE_KEY = "*"
# An off limit (0) as a bound nothing reaches: counts are 32-bit columns, tokens 64-bit.
UNLIMITED_COUNT = 2**31 - 1
UNLIMITED_TOKENS = 2**62
COLUMNS = (
    "key",
    "streams",
    "leases_expire_at",
    "window_started_at",
    "window_requests",
    "day",
    "day_tokens",
)
# IPv6 hands each client a /64: its addresses are one client.
IPV6_PREFIX = 64

logger = logging.getLogger(__name__)


def clock() -> float:
    """Unix time; tests move it."""
    return time.time()


@dataclass
class Lease:
    """One open stream, counted against `key` until release(); `tokens` is what the
    provider reported using for it."""

    key: str
    tokens: int = 0
    # Set once the stream's end is committed (release_in), so it is counted once.
    released: bool = False


def client_key(request: Request, user_id: object | None) -> str:
    """Whose limits a request counts against: the signed-in user, else the client's
    address. Render and Railway append the address they accepted the connection from as
    the LAST X-Forwarded-For entry; anything before it came from the client and is
    forgeable (Uvicorn's request.client, with forwarded_allow_ips="*", is the first)."""
    if user_id is not None:
        return f"user:{user_id}"
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    address = forwarded[-1].strip() or (request.client.host if request.client else "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # Not an address a proxy would write: every such request shares one bucket.
        return "ip:unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{ip}/{IPV6_PREFIX}', strict=False)}"
    return f"ip:{ip}"


def _bound(limit: int, unlimited: int = UNLIMITED_TOKENS) -> int:
    return min(limit or unlimited, unlimited)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(dialect: str) -> Any:
    # The table, not the class: an ORM insert would take the parameters for rows.
    table = cast(Table, ChatLimit.__table__)
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def acquire(session: AsyncSession, key: str, settings: Settings) -> Lease:
    """Count a new stream for `key`, or raise 429 naming the limit it would exceed. In
    the caller's transaction: commit it to keep the lease, roll back to drop it."""
    now = clock()
    values = {
        "key": key,
        "now": now,
        "lease_until": now + LEASE_SECONDS,
        "window_after": now - WINDOW_SECONDS,
        "today": int(now // DAY_SECONDS),
        "max_streams": _bound(settings.chat_max_concurrent_streams, UNLIMITED_COUNT),
        "max_requests": _bound(settings.chat_requests_per_minute, UNLIMITED_COUNT),
        "max_tokens": _bound(settings.chat_daily_tokens_per_user),
        "max_service_tokens": _bound(settings.chat_daily_tokens_total),
    }
    if (await session.execute(_acquire(_dialect(session)), values)).first() is None:
        raise await _refusal(session, key, settings, now)
    return Lease(key)


@functools.cache
def _acquire(dialect: str) -> Any:
    """acquire()'s statement, built once per database (building it costs more CPU than
    running it): every value is a parameter."""
    now, today = bindparam("now", type_=Double), bindparam("today", type_=Integer)
    lease_until = bindparam("lease_until", type_=Double)
    window_live = ChatLimit.window_started_at > bindparam("window_after", type_=Double)
    # The row's counts as they stand now: a lapsed lease, window or day counts 0.
    streams = _live(ChatLimit.leases_expire_at > now, ChatLimit.streams)
    requests = _live(window_live, ChatLimit.window_requests)
    tokens = _live(ChatLimit.day == today, ChatLimit.day_tokens)
    service_tokens = func.coalesce(
        select(ChatLimit.day_tokens)
        .where(ChatLimit.key == SERVICE_KEY, ChatLimit.day == today)
        .scalar_subquery(),
        0,
    )
    # A key's first request inserts its row, unless the whole service is over its limit
    # (then nothing is inserted or updated, and nothing returned).
    key = bindparam("key", type_=String)
    first = select(key, literal(1), lease_until, now, literal(1), today, literal(0)).where(
        service_tokens < bindparam("max_service_tokens", type_=BigInteger)
    )
    return (
        _insert(dialect)
        .from_select(list(COLUMNS), first)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "streams": streams + 1,
                "leases_expire_at": lease_until,
                "window_started_at": _live(window_live, ChatLimit.window_started_at, now),
                "window_requests": requests + 1,
                "day": today,
                "day_tokens": tokens,
            },
            where=(streams < bindparam("max_streams", type_=Integer))
            & (requests < bindparam("max_requests", type_=Integer))
            & (tokens < bindparam("max_tokens", type_=BigInteger)),
        )
        .returning(ChatLimit.key)
    )


def _live(condition: Any, value: Any, otherwise: Any = 0) -> Any:
    """`value` while its window is open, else what a new window starts from."""
    return case((condition, value), else_=otherwise)


async def _refusal(
    session: AsyncSession, key: str, settings: Settings, now: float
) -> HTTPException:
    """Which limit refused the request, and when asking again can succeed."""
    query = select(ChatLimit).where(ChatLimit.key.in_([key, SERVICE_KEY]))
    rows = {row.key: row for row in await session.scalars(query)}
    today = int(now // DAY_SECONDS)
    midnight = math.ceil((today + 1) * DAY_SECONDS - now)
    who = "per user" if key.startswith("user:") else "from one address"
    service, mine = rows.get(SERVICE_KEY), rows.get(key)
    if (
        service
        and service.day == today
        and service.day_tokens >= _bound(settings.chat_daily_tokens_total)
    ):
        return too_many(
            "The chat has reached the whole service's daily usage limit; it resets at"
            " midnight UTC.",
            midnight,
        )
    if (
        mine
        and mine.day == today
        and mine.day_tokens >= _bound(settings.chat_daily_tokens_per_user)
    ):
        return too_many(
            f"Daily chat limit reached ({settings.chat_daily_tokens_per_user:,} tokens a day"
            f" {who}); it resets at midnight UTC.",
            midnight,
        )
    window_end = (mine.window_started_at if mine else now) + WINDOW_SECONDS
    if (
        mine
        and window_end > now
        and mine.window_requests >= _bound(settings.chat_requests_per_minute, UNLIMITED_COUNT)
    ):
        return too_many(
            f"Too many chat messages: at most {settings.chat_requests_per_minute} a minute {who}.",
            max(1, math.ceil(window_end - now)),
        )
    return too_many(
        f"Too many chat replies at once: at most {settings.chat_max_concurrent_streams}"
        f" {who}. Wait for one to finish.",
        STREAMS_RETRY_SECONDS,
    )


def too_many(detail: str, retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)}
    )


async def release_in(session: AsyncSession, lease: Lease) -> None:
    """Free the stream's slot and add its tokens to today's counts, in the caller's
    transaction (the one that stores the reply: no round trip of its own but one
    statement). Set `lease.released` once that transaction commits."""
    now = clock()
    values = {
        "key": lease.key,
        "now": now,
        "today": int(now // DAY_SECONDS),
        "tokens": lease.tokens,
    }
    await session.execute(_release(_dialect(session), with_service=lease.tokens > 0), values)


async def release(sessionmaker: async_sessionmaker[AsyncSession], lease: Lease) -> None:
    """release_in() in a transaction of its own, for a stream whose reply could not be
    stored. Shielded from cancellation, so a stream that ended never keeps its slot."""
    with anyio.CancelScope(shield=True):
        try:
            async with sessionmaker() as session:
                await release_in(session, lease)
                await session.commit()
            lease.released = True
        except (SQLAlchemyError, OSError) as exc:
            # The slot frees itself when its lease expires; the tokens go uncounted. The
            # kind only: a database error's text carries the statement's parameters.
            logger.error("Could not release a chat stream's limits: %s", type(exc).__name__)


@functools.cache
def _release(dialect: str, *, with_service: bool) -> Any:
    """release_in()'s statement, built once: the key's row, and the service's when the
    stream used tokens."""
    today, tokens = bindparam("today", type_=Integer), bindparam("tokens", type_=BigInteger)
    rows = [_row(bindparam("key", type_=String), today, tokens)]
    if with_service:
        rows.append(_row(SERVICE_KEY, today, tokens))
    insert = _insert(dialect).values(rows)
    streams_live = (ChatLimit.leases_expire_at > bindparam("now", type_=Double)) & (
        ChatLimit.streams > 0
    )
    return insert.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "streams": _live(streams_live, ChatLimit.streams - 1),
            "day": today,
            "day_tokens": _live(ChatLimit.day == today, ChatLimit.day_tokens)
            + insert.excluded.day_tokens,
        },
    )


def _row(key: object, today: object, tokens: object) -> dict[str, object]:
    return {
        "key": key,
        "streams": 0,
        "leases_expire_at": 0.0,
        "window_started_at": 0.0,
        "window_requests": 0,
        "day": today,
        "day_tokens": tokens,
    }
