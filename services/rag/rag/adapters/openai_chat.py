"""The text LLM (OpenAI chat completions through LangChain) and the one call shape rag uses of it.

Every rag call asks for a JSON object in a strict JSON schema (`response_format: json_schema`,
`strict: true`). The raw message text is returned, not LangChain's parsed value: LangChain's JSON parser
tolerates broken JSON (it parses a prefix), and the callers must see malformed answers to reject them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr


class LlmUnavailable(RuntimeError):
    """The model could not be asked (network, auth, rate limit, server error) or refused to answer."""


@dataclass(frozen=True, slots=True)
class ChatModelSettings:
    model: str
    api_key: SecretStr
    base_url: str | None = None
    timeout_seconds: float = 30.0
    max_retries: int = 2
    # 0 for repeatable extraction; None leaves the model's default (some models accept no other value).
    temperature: float | None = 0.0


def build_chat_model(settings: ChatModelSettings) -> ChatOpenAI:
    return ChatOpenAI(
        model=settings.model,
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_seconds,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        # The chat completions API: the one whose wire format the fakes and the strict schemas target.
        use_responses_api=False,
    )


async def ask_for_json(
    chat: BaseChatModel, schema_name: str, schema: dict[str, Any], messages: Sequence[BaseMessage]
) -> str:
    """The model's raw answer text to `messages`, constrained to `schema` (strict structured output)."""
    structured = chat.with_structured_output(
        {"name": schema_name, "schema": schema, "strict": True}, method="json_schema", include_raw=True
    )
    try:
        result = await structured.ainvoke(list(messages))
    except openai.APIError as error:
        raise LlmUnavailable(f"{type(error).__name__}: {error}") from error
    raw = result["raw"] if isinstance(result, dict) else None
    if not isinstance(raw, AIMessage):
        raise LlmUnavailable("the model returned no message")
    refusal = raw.additional_kwargs.get("refusal")
    if refusal:
        raise LlmUnavailable(f"the model refused: {refusal}")
    return raw.content if isinstance(raw.content, str) else ""
