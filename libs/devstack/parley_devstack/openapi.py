"""The gateway's merged OpenAPI, built offline (no server, no bus): what the console's typed client is
generated from. `web/openapi.json` is this document; a test fails when the two drift apart.

    python -m parley_devstack.openapi web/openapi.json
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from servicekit.testing.keys import generate_key_pair

from .supervisor import available_services


def merged_openapi() -> dict[str, Any]:
    from gateway.api.docs import merge_openapi
    from gateway.main import build_app
    from gateway.settings import GatewaySettings

    specs = {
        spec.name: importlib.import_module(f"{spec.package}.main").app().openapi()
        for spec in available_services()
        if spec.name != "gateway"
    }
    # The gateway only needs a signing key to be built; a throwaway one keeps this offline.
    gateway = build_app(GatewaySettings(jwt_private_key=SecretStr(generate_key_pair().private_pem)))
    return merge_openapi(gateway.openapi(), specs)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m parley_devstack.openapi <output.json>", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(merged_openapi()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
