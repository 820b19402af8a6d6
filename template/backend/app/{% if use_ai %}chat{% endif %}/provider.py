"""Chat providers: Anthropic, and an offline stand-in for development and tests.

A provider streams a reply as TextDelta events, with a Usage event whenever the provider
reports its token counts so far; the stream ends when the reply is complete, and raises
ProviderError when the upstream service fails in any way (status, dropped connection,
malformed event)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import anthropic
from anthropic.lib.streaming import TextEvent
from anthropic.types import MessageParam, RawMessageDeltaEvent, RawMessageStartEvent

from app.core.config import Settings

# The newest Sonnet the pinned SDK names (anthropic.types.ModelParam); ANTHROPIC_MODEL
# overrides it.
DEFAULT_MODEL = "claude-sonnet-5-5"
SYSTEM_PROMPT = "You are a helpful assistant. Answer clearly and briefly."
MAX_REPLY_TOKENS = 1024


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    """The tokens billed so far for this reply: each one replaces the one before."""

    input_tokens: int
    output_tokens: int


NO_USAGE = Usage(input_tokens=0, output_tokens=0)


class ProviderError(Exception):
    """The provider failed. The message names the cause without any of the conversation's
    text: safe to log, not to show."""


class ChatProvider(Protocol):
    def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Usage]: ...

    async def aclose(self) -> None: ...


class AnthropicProvider:
    def __init__(self, client: anthropic.AsyncAnthropic, model: str) -> None:
        self._client = client
        self._model = model

    async def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Usage]:
        usage, stopped = NO_USAGE, False
        try:
            async with self._client.messages.stream(
                model=self._model,
                max_tokens=MAX_REPLY_TOKENS,
                system=SYSTEM_PROMPT,
                messages=[_message(turn) for turn in turns],
            ) as stream:
                async for event in stream:
                    if isinstance(event, TextEvent):
                        yield TextDelta(event.text)
                    elif isinstance(event, RawMessageStartEvent):
                        usage = Usage(
                            event.message.usage.input_tokens, event.message.usage.output_tokens
                        )
                        yield usage
                    elif isinstance(event, RawMessageDeltaEvent):
                        # Cumulative counts; input_tokens only when it changed.
                        input_tokens = event.usage.input_tokens
                        usage = Usage(
                            usage.input_tokens if input_tokens is None else input_tokens,
                            event.usage.output_tokens,
                        )
                        yield usage
                    elif event.type == "message_stop":
                        stopped = True
        # Not only APIError: a connection dropped mid-stream (httpx2.RemoteProtocolError)
        # or a malformed event (json.JSONDecodeError) escapes the SDK as it is.
        except Exception as exc:
            raise ProviderError(f"Anthropic: {describe(exc)}") from exc
        if not stopped:
            # A connection closed cleanly mid-reply: the text so far is not the reply.
            raise ProviderError("Anthropic: the stream ended before message_stop")

    async def aclose(self) -> None:
        await self._client.close()


def describe(exc: BaseException) -> str:
    """The exception's kind, and for an API status error its status and request id: never
    its text, which may quote the conversation."""
    if isinstance(exc, anthropic.APIStatusError):
        return f"{type(exc).__name__} (status {exc.status_code}, request id {exc.request_id})"
    return type(exc).__name__


def _message(turn: Turn) -> MessageParam:
    if turn.role == "user":
        return {"role": "user", "content": turn.content}
    return {"role": "assistant", "content": turn.content}


class OfflineProvider:
    """A deterministic reply, word by word, so the app runs with no key and no network."""

    async def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Usage]:
        question = turns[-1].content if turns else ""
        reply = f"Offline reply (no ANTHROPIC_API_KEY is set). You said: {question}"
        words = reply.split(" ")
        for index, word in enumerate(words):
            yield TextDelta(word if index == 0 else f" {word}")
            await asyncio.sleep(0.01)  # paced like a real stream
        # Word counts stand in for token counts.
        prompt_words = sum(len(turn.content.split()) for turn in turns)
        yield Usage(input_tokens=prompt_words, output_tokens=len(words))

    async def aclose(self) -> None:
        pass


def provider_from_settings(settings: Settings) -> ChatProvider:
    if settings.anthropic_api_key:
        client = anthropic.AsyncAnthropic(api_key=settings.anthropic_api_key)
        return AnthropicProvider(client, settings.anthropic_model or DEFAULT_MODEL)
    # Production never gets here: validate_required() insists on ANTHROPIC_API_KEY.
    return OfflineProvider()
