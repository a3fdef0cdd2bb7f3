#!/usr/bin/env bash
# Debian packages Parley needs at run time (WeasyPrint's text stack), and with `test` also Chromium for
# the console's browser tests (Debian's build: Playwright never downloads a browser). Installed when
# missing and we are root with apt (CI, these dev machines); otherwise we say what to install.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "${1:-}" = "test" ]; then
  packages+=(chromium)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: missing system packages (PDF rendering needs them): ${missing[*]}" >&2
  echo "         sudo apt-get install ${missing[*]}" >&2
fi
