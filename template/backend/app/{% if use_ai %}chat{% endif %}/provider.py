"""Chat providers: Anthropic, and an offline stand-in for development and tests.

A provider streams a reply as TextDelta events followed by one Finished event, and
raises ProviderError when the upstream service fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import anthropic
from anthropic.types import MessageParam

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
class Finished:
    input_tokens: int
    output_tokens: int


class ProviderError(Exception):
    """The provider failed; the message is safe to log, not to show."""


class ChatProvider(Protocol):
    def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Finished]: ...

    async def aclose(self) -> None: ...


class AnthropicProvider:
    def __init__(self, client: anthropic.AsyncAnthropic, model: str) -> None:
        self._client = client
        self._model = model

    async def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Finished]:
        try:
            async with self._client.messages.stream(
                model=self._model,
                max_tokens=MAX_REPLY_TOKENS,
                system=SYSTEM_PROMPT,
                messages=[_message(turn) for turn in turns],
            ) as stream:
                async for text in stream.text_stream:
                    yield TextDelta(text)
                message = await stream.get_final_message()
        except anthropic.APIError as exc:
            raise ProviderError(f"Anthropic: {exc}") from exc
        yield Finished(message.usage.input_tokens, message.usage.output_tokens)

    async def aclose(self) -> None:
        await self._client.close()


def _message(turn: Turn) -> MessageParam:
    if turn.role == "user":
        return {"role": "user", "content": turn.content}
    return {"role": "assistant", "content": turn.content}


class OfflineProvider:
    """A deterministic reply, word by word, so the app runs with no key and no network."""

    async def stream(self, turns: Sequence[Turn]) -> AsyncIterator[TextDelta | Finished]:
        question = turns[-1].content if turns else ""
        reply = f"Offline reply (no ANTHROPIC_API_KEY is set). You said: {question}"
        words = reply.split(" ")
        for index, word in enumerate(words):
            yield TextDelta(word if index == 0 else f" {word}")
            await asyncio.sleep(0.01)  # paced like a real stream
        # Word counts stand in for token counts.
        prompt_words = sum(len(turn.content.split()) for turn in turns)
        yield Finished(input_tokens=prompt_words, output_tokens=len(words))

    async def aclose(self) -> None:
        pass


def provider_from_settings(settings: Settings) -> ChatProvider:
    if settings.anthropic_api_key:
        client = anthropic.AsyncAnthropic(api_key=settings.anthropic_api_key)
        return AnthropicProvider(client, settings.anthropic_model or DEFAULT_MODEL)
    # Production never gets here: validate_required() insists on ANTHROPIC_API_KEY.
    return OfflineProvider()
