"""Jinja2 (autoescaped, strict) -> HTML -> WeasyPrint -> PDF."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML

from prospectus.domain.models import ProspectusInput, RenderedProspectus
from prospectus.domain.view import build_view

from .url_fetcher import LocalOnlyUrlFetcher

TEMPLATE_DIR = Path(__file__).parent / "templates"
RECOMMENDATIONS_TEMPLATE = "prospectus.html.j2"
NOTHING_FITS_TEMPLATE = "nothing_fits.html.j2"


class WeasyPrintRenderer:
    """Implements `ProspectusRenderer`. Thread-safe after construction; one instance per process."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self._template_dir = template_dir.resolve()
        self._templates = Environment(
            loader=FileSystemLoader(self._template_dir),
            # Every template, whatever its extension, escapes what it prints.
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render_html(self, data: ProspectusInput) -> str:
        view = build_view(data)
        template = NOTHING_FITS_TEMPLATE if view.nothing_fits else RECOMMENDATIONS_TEMPLATE
        return self._templates.get_template(template).render(view=view)

    def render(self, data: ProspectusInput) -> RenderedProspectus:
        html = self.render_html(data)
        # The stylesheet is inlined, so the stored HTML is self-contained and is exactly what the PDF
        # was made from; base_url only lets relative references resolve inside the template dir.
        document = HTML(
            string=html,
            base_url=str(self._template_dir) + "/",
            url_fetcher=LocalOnlyUrlFetcher(self._template_dir),
        ).render()
        return RenderedProspectus(html=html, pdf=document.write_pdf(), page_count=len(document.pages))
