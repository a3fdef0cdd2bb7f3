"""Which AI does the text work: the OpenAI text model when a key is configured (env first, then the
admin settings the gateway holds, asked over RPC and cached briefly), else the offline rules/template.

Embeddings are chosen once at start-up (`build_embedder`): the vector collection is keyed by the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
from langchain_core.language_models.chat_models import BaseChatModel
from parley_contracts import RPC_GATEWAY_SETTINGS
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from servicekit.bus import Bus

from .adapters.llm_narrative import LlmNarrativeWriter
from .adapters.llm_needs import LlmNeedsExtractor
from .adapters.onnx_embedder import OnnxMiniLMEmbedder
from .adapters.openai_chat import ChatModelSettings, build_chat_model
from .adapters.openai_embedder import OpenAIEmbedder
from .domain.embedding import Embedder
from .domain.needs_rules import RulesNeedsExtractor
from .domain.ports import NarrativeWriter, NeedsExtractor
from .settings import RagSettings

log = logging.getLogger("rag.ai")

GATEWAY_KEYS = ["openai_api_key", "openai_base_url", "openai_text_model"]


class _SettingsRequest(BaseModel):
    keys: list[str]


class _SettingsReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextModelConfig:
    api_key: SecretStr
    model: str
    base_url: str | None
    source: str  # "env" or "gateway"


def build_embedder(settings: RagSettings) -> Embedder:
    """OpenAI embeddings when OPENAI_API_KEY is set for this service, else the packaged MiniLM."""
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        return OpenAIEmbedder(
            model=settings.openai_embedding_model,
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_embedding_base_url or settings.openai_base_url,
            dimensions=settings.openai_embedding_dimensions,
            timeout_seconds=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
    return OnnxMiniLMEmbedder()


class TextAi:
    """Hands out the needs extractor and narrative writer for the currently configured text model."""

    def __init__(
        self, settings: RagSettings, bus: Bus | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._clock = clock
        self._cached: tuple[float, TextModelConfig | None] | None = None
        self._chat: tuple[TextModelConfig, BaseChatModel] | None = None
        self._rules = RulesNeedsExtractor()

    async def config(self) -> TextModelConfig | None:
        s = self._settings
        if s.openai_api_key is not None and s.openai_api_key.get_secret_value():
            return TextModelConfig(s.openai_api_key, s.openai_text_model, s.openai_base_url, "env")
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < s.ai_settings_cache_seconds:
            return self._cached[1]
        config = await self._ask_gateway()
        self._cached = (now, config)
        return config

    async def _ask_gateway(self) -> TextModelConfig | None:
        if self._bus is None:
            return None
        raw = b""
        try:
            raw = await self._bus.request(
                RPC_GATEWAY_SETTINGS,
                _SettingsRequest(keys=GATEWAY_KEYS),
                timeout=self._settings.gateway_timeout_seconds,
            )
            values = _SettingsReply.model_validate_json(raw).values
        except (TimeoutError, nats.errors.Error) as error:
            log.info("gateway settings unavailable (%s): offline text AI", type(error).__name__)
            return None
        except ValidationError:
            log.warning("gateway settings answer unreadable: offline text AI")
            return None
        key = values.get("openai_api_key")
        if not isinstance(key, str) or not key:
            return None
        model = values.get("openai_text_model")
        base_url = values.get("openai_base_url")
        return TextModelConfig(
            SecretStr(key),
            model if isinstance(model, str) and model else self._settings.openai_text_model,
            base_url if isinstance(base_url, str) and base_url else self._settings.openai_base_url,
            "gateway",
        )

    def _chat_model(self, config: TextModelConfig) -> BaseChatModel:
        if self._chat is None or self._chat[0] != config:
            chat = build_chat_model(
                ChatModelSettings(
                    model=config.model,
                    api_key=config.api_key,
                    base_url=config.base_url,
                    timeout_seconds=self._settings.openai_timeout_seconds,
                    max_retries=self._settings.openai_max_retries,
                )
            )
            self._chat = (config, chat)
        return self._chat[1]

    async def needs_extractor(self) -> NeedsExtractor:
        config = await self.config()
        if config is None:
            return self._rules
        return LlmNeedsExtractor(self._chat_model(config), self._rules)

    async def narrator(self) -> NarrativeWriter | None:
        """The LLM writer when configured; None means the recommender's offline template."""
        config = await self.config()
        return None if config is None else LlmNarrativeWriter(self._chat_model(config))
