"""What a prospectus is made from (input) and what rendering produces (output)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from uuid import UUID

from parley_contracts import LeadSnapshot, NeedsProfile, ProductSnapshot, Recommendation
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

# Only literal hex colours: the value is written into the stylesheet, where HTML escaping does not
# protect, so anything richer (`red; background: url(...)`) must be impossible.
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
# The logo is embedded, never fetched, so it must be a base64 data: URI of an image type we accept.
_LOGO_DATA_URI = re.compile(r"^data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$")
MAX_LOGO_BYTES = 512 * 1024

_LOGO_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def logo_data_uri(image: bytes) -> str:
    """Turn a logo file's bytes (PNG, JPEG, GIF, WebP or SVG) into the data: URI `Branding` stores.

    The type is sniffed from the content, not trusted from a file name or upload header.
    """
    if len(image) > MAX_LOGO_BYTES:
        raise ValueError(f"logo is {len(image)} bytes; the limit is {MAX_LOGO_BYTES}")
    media_type = next((mime for magic, mime in _LOGO_SIGNATURES if image.startswith(magic)), None)
    if media_type is None and image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        media_type = "image/webp"
    if media_type is None and b"<svg" in image[:1024].lower():
        media_type = "image/svg+xml"
    if media_type is None:
        raise ValueError("logo must be a PNG, JPEG, GIF, WebP or SVG image")
    return f"data:{media_type};base64,{base64.b64encode(image).decode('ascii')}"


class Branding(BaseModel):
    """Company branding configured by admins; the same for every prospectus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_name: str = Field(min_length=1, max_length=120)
    primary_color: str = "#1F4E79"
    logo_data_uri: str | None = Field(default=None, max_length=MAX_LOGO_BYTES * 4 // 3 + 64)
    footer_text: str = Field(default="", max_length=300)
    # Regulatory lines the company must show (licence number, registered office, ...).
    legal_notices: list[str] = []

    @field_validator("primary_color")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not _HEX_COLOUR.fullmatch(value):
            raise ValueError("primary_color must be a hex colour like #1F4E79")
        return value

    @field_validator("logo_data_uri")
    @classmethod
    def _embedded_image(cls, value: str | None) -> str | None:
        if value is not None and not _LOGO_DATA_URI.fullmatch(value):
            raise ValueError("logo must be a base64 data:image/... URI (see logo_data_uri())")
        return value

    @property
    def text_on_primary_color(self) -> str:
        """Black or white, whichever reads better on the primary colour (WCAG relative luminance)."""
        digits = self.primary_color[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        # Contrast against white is (1.05)/(L+0.05), against black (L+0.05)/0.05; equal at L≈0.179.
        return "#FFFFFF" if luminance < 0.179 else "#111111"


class AgentContact(BaseModel):
    """The human agent the lead can reach; shown in the document and used in next steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=3, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    title: str | None = Field(default=None, max_length=120)


class ProspectusInput(BaseModel):
    """Everything one prospectus version is rendered from; nothing else is consulted."""

    model_config = ConfigDict(frozen=True)

    lead: LeadSnapshot
    needs: NeedsProfile
    recommendation: Recommendation
    # Catalog snapshots of the recommended products: the only source of product facts.
    products: list[ProductSnapshot]
    agent: AgentContact
    branding: Branding
    version: int = Field(ge=1)
    generated_at: AwareDatetime

    @model_validator(mode="after")
    def _every_recommended_product_has_catalog_facts(self) -> ProspectusInput:
        known = {product.id for product in self.products}
        missing = [item.product_id for item in self.recommendation.items if item.product_id not in known]
        if missing:
            raise ValueError(
                f"no catalog snapshot for recommended product(s): {', '.join(map(str, missing))}"
            )
        return self

    @property
    def nothing_fits(self) -> bool:
        return self.recommendation.nothing_fits or not self.recommendation.items

    def product(self, product_id: UUID) -> ProductSnapshot:
        return next(product for product in self.products if product.id == product_id)


@dataclass(frozen=True)
class RenderedProspectus:
    html: str
    pdf: bytes
    page_count: int
