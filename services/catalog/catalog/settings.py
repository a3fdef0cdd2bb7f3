from pathlib import Path

from servicekit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    port: int = 8102
    database_url: str = "sqlite+aiosqlite:///./var/data/catalog.db"
    # Original uploaded files (the local `DocumentStorage`); the database keeps their extracted text.
    documents_dir: Path = Path("./var/data/catalog-documents")
    max_upload_bytes: int = 20 * 1024 * 1024
    # Extraction limits: a document that would need more is rejected (a decompression bomb hits these).
    max_extracted_chars: int = 2_000_000
    max_pdf_pages: int = 2_000
    extraction_timeout_seconds: float = 30.0
    # Extraction is CPU-bound and runs in threads; this many at once leaves the event loop responsive.
    extraction_concurrency: int = 2
