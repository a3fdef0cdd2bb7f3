"""How far rag has got with one ended call: what the console's call page shows."""

from __future__ import annotations

from typing import Literal

from parley_contracts import Recommendation

CallStatus = Literal["pending", "ready", "nothing_fits"]


def call_status(recommendation: Recommendation | None) -> CallStatus:
    """Pending until the call's recommendation is stored (its needs are stored with it); then whether it
    offers products or says that nothing in the catalog fits."""
    if recommendation is None:
        return "pending"
    return "nothing_fits" if recommendation.nothing_fits else "ready"
