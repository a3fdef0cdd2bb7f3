#!/usr/bin/env bash
# The console (web/): `build` installs its packages (npm ci, from the committed lockfile) when they
# changed and rebuilds web/dist when a source is newer than the last build; `test` runs its
# component tests (Vitest). Both use scripts/node.sh's Node.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
web="$root/web"
node() { "$root/scripts/node.sh" "$@"; }
cd "$web"

packages() {
  local stamp="node_modules/.installed"
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "console: installing packages (npm ci)"
    node npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
}

case "${1:-build}" in
  build)
    packages
    built="dist/index.html"
    if [ ! -f "$built" ] || [ -n "$(find src index.html vite.config.ts tsconfig.json package-lock.json openapi.json -newer "$built" -print -quit)" ]; then
      echo "console: building web/dist"
      node npm run --silent build
    fi
    ;;
  test)
    packages
    node npm run --silent typecheck
    node npx vitest run --reporter=dot
    ;;
  *)
    echo "usage: scripts/web.sh build|test" >&2
    exit 2
    ;;
esac
