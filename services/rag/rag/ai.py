"""Which AI does the text work: the OpenAI text model when a key is configured (env first, then the
admin settings the gateway holds, asked over RPC and cached briefly), else the offline rules/template.

Embeddings are chosen once at start-up (`build_embedder`): the vector collection is keyed by the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from langchain_core.language_models.chat_models import BaseChatModel
from servicekit.admin_settings import TextModelConfig, TextModelSource
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
        self._source = TextModelSource.from_settings(settings, bus, fallback="offline text AI", clock=clock)
        self._chat: tuple[TextModelConfig, BaseChatModel] | None = None
        self._rules = RulesNeedsExtractor()

    async def config(self) -> TextModelConfig | None:
        return await self._source.config()

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
