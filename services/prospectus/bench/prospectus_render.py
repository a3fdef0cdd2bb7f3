"""Render N prospectuses per variant and print ms per PDF (p50/p95), pages and size.

.venv/bin/python services/prospectus/bench/prospectus_render.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from uuid import uuid4

from prospectus.adapters.renderer import WeasyPrintRenderer
from prospectus.domain.models import ProspectusInput
from prospectus.testing.factories import sample_prospectus_input


def with_products(count: int) -> ProspectusInput:
    """The sample input with `count` recommended products (copies of the sample ones, new ids)."""
    base = sample_prospectus_input()
    pairs = [(base.products[i % 3], base.recommendation.items[i % 3]) for i in range(count)]
    products, items = [], []
    for index, (product, item) in enumerate(pairs):
        product_id = uuid4() if index >= 3 else product.id
        products.append(product.model_copy(update={"id": product_id, "name": f"{product.name} {index + 1}"}))
        items.append(item.model_copy(update={"product_id": product_id, "name": f"{item.name} {index + 1}"}))
    recommendation = base.recommendation.model_copy(update={"items": items})
    return base.model_copy(update={"products": products, "recommendation": recommendation})


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    renderer = WeasyPrintRenderer()
    variants = {
        "1 product": with_products(1),
        "3 products": with_products(3),
        "5 products": with_products(5),
        "nothing fits": sample_prospectus_input(nothing_fits=True),
    }
    started = time.perf_counter()
    renderer.render(variants["3 products"])  # fonts and templates load once per process
    print(f"first render (cold): {(time.perf_counter() - started) * 1000:.0f} ms; {runs} runs per variant\n")
    print(f"{'variant':<14}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'pages':>7}{'PDF KB':>8}")
    for name, data in variants.items():
        timings: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            rendered = renderer.render(data)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:<14}{percentile(timings, 0.5):>9.0f}{percentile(timings, 0.95):>9.0f}"
            f"{statistics.fmean(timings):>9.0f}{rendered.page_count:>7}{len(rendered.pdf) / 1024:>8.1f}"
        )


if __name__ == "__main__":
    main()
