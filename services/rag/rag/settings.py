from pathlib import Path

from pydantic import SecretStr
from servicekit.settings import ServiceSettings


class RagSettings(ServiceSettings):
    service_name: str = "rag"
    port: int = 8105
    database_url: str = "sqlite+aiosqlite:///./var/data/rag.db"

    # Vector store: Qdrant local mode on disk (default: DATA_DIR/rag-qdrant), or a server at QDRANT_URL.
    qdrant_path: Path | None = None
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_collection_prefix: str = "parley_chunks"

    # OpenAI: with OPENAI_API_KEY set here, embeddings go through OpenAI (chosen at start-up, since the
    # collection is keyed by the model). The text model (needs extraction, narrative) uses this key, or
    # else the key an admin set in the gateway's settings (asked over RPC, cached briefly).
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_text_model: str = "gpt-4o-mini"
    openai_embedding_model: str = "text-embedding-3-small"
    # Where embeddings are asked (default: OPENAI_BASE_URL).
    openai_embedding_base_url: str | None = None
    openai_embedding_dimensions: int | None = None
    openai_timeout_seconds: float = 30.0
    openai_max_retries: int = 2
    # How long the gateway's AI settings are reused before asking again; how long to wait for its answer.
    ai_settings_cache_seconds: float = 30.0
    gateway_timeout_seconds: float = 2.0

    # Full reindex from the local catalog projection every this many seconds (0 disables it).
    reindex_interval_seconds: float = 6 * 3600.0
    # Document text is fetched from the catalog in pages of this many characters.
    document_text_page_chars: int = 100_000
    catalog_timeout_seconds: float = 10.0

    def resolved_qdrant_path(self) -> Path:
        return self.qdrant_path or self.data_dir / "rag-qdrant"
