"""The email body as structured parts, written out once as plain text and once as HTML."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class EmailBody:
    greeting: str
    opening: tuple[str, ...]
    highlights: tuple[str, ...]
    closing: tuple[str, ...]
    sign_off: str
    signature: tuple[str, ...]
    footer: str
    unsubscribe_url: str

    def plain_text(self) -> str:
        blocks = [self.greeting, *self.opening]
        if self.highlights:
            blocks.append("\n".join(f"- {line}" for line in self.highlights))
        blocks.extend(self.closing)
        blocks.append("\n".join([self.sign_off, *self.signature]))
        blocks.append(f"--\n{self.footer}\nUnsubscribe: {self.unsubscribe_url}")
        return "\n\n".join(blocks) + "\n"

    def html(self, accent_color: str) -> str:
        """Inline styles only: most mail clients drop <style> blocks. Every value is escaped."""
        paragraphs = [f"<p>{escape(self.greeting)}</p>", *(f"<p>{escape(p)}</p>" for p in self.opening)]
        if self.highlights:
            items = "".join(f"<li>{escape(line)}</li>" for line in self.highlights)
            paragraphs.append(f'<ul style="padding-left:20px;margin:0 0 14px">{items}</ul>')
        paragraphs.extend(f"<p>{escape(p)}</p>" for p in self.closing)
        signature = "<br>".join(escape(line) for line in (self.sign_off, *self.signature))
        paragraphs.append(f'<p style="margin-top:20px">{signature}</p>')
        footer = (
            f'<p style="margin-top:28px;padding-top:10px;border-top:1px solid #ddd;color:#666;font-size:12px">'
            f'{escape(self.footer)} <a href="{escape(self.unsubscribe_url, quote=True)}" '
            f'style="color:{escape(accent_color, quote=True)}">Unsubscribe</a></p>'
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head>'
            '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a">'
            f"{''.join(paragraphs)}{footer}</body></html>"
        )
