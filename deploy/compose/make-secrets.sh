#!/usr/bin/env bash
# Generate the secrets docker-compose.yml mounts (compose `secrets:`), once, under
# deploy/compose/secrets/. Existing files are kept (delete one, or pass --force, to rotate them all).
#
#   jwt_private.pem   Ed25519 private key (PKCS#8 PEM): the gateway signs access tokens with it
#   jwt_public.pem    its public key (SPKI PEM): every service verifies tokens with it
#   settings.key      Fernet key: encrypts secrets in the gateway's admin settings at rest
#   unsubscribe.key   Fernet-format random key: signs the mailer's unsubscribe links
#   voice_signing.key random key: signs voice-bridge's per-call media tokens and callback links
#   db_password       password of the `parley` database user (PostgreSQL and the MariaDB profile)
#
# Needs openssl (python3 is used only if openssl cannot write Ed25519 keys). Nothing here is ever
# committed: the directory is git-ignored.
set -euo pipefail

dir="$(cd "$(dirname "$0")" && pwd)/secrets"
force=false
[ "${1:-}" = "--force" ] && force=true

umask 077
mkdir -p "$dir"
chmod 700 "$dir"

# The containers run as uid 10001 and compose bind-mounts these files as they are on the host (without
# swarm it ignores uid/gid/mode), so the files must be world-readable; the 0700 directory is what keeps
# other host users out.
publish() { chmod 644 "$1"; echo "wrote $1"; }

needed() { $force || [ ! -s "$dir/$1" ]; }

fernet_key() {
  # 32 random bytes, urlsafe base64 with padding: exactly what cryptography.fernet.Fernet accepts.
  openssl rand -base64 32 | tr '+/' '-_' | tr -d '\n'
}

if needed jwt_private.pem || needed jwt_public.pem; then
  if openssl genpkey -algorithm ed25519 -out "$dir/jwt_private.pem" 2>/dev/null; then
    openssl pkey -in "$dir/jwt_private.pem" -pubout -out "$dir/jwt_public.pem"
  else
    python3 - "$dir" <<'PY'
import sys
from pathlib import Path
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

key = Ed25519PrivateKey.generate()
out = Path(sys.argv[1])
(out / "jwt_private.pem").write_bytes(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
(out / "jwt_public.pem").write_bytes(key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PY
  fi
  publish "$dir/jwt_private.pem"
  publish "$dir/jwt_public.pem"
fi

if needed settings.key; then
  fernet_key >"$dir/settings.key"
  publish "$dir/settings.key"
fi

if needed unsubscribe.key; then
  fernet_key >"$dir/unsubscribe.key"
  publish "$dir/unsubscribe.key"
fi

if needed voice_signing.key; then
  fernet_key >"$dir/voice_signing.key"
  publish "$dir/voice_signing.key"
fi

if needed db_password; then
  # Hex only: it is pasted into database URLs without escaping.
  openssl rand -hex 24 | tr -d '\n' >"$dir/db_password"
  publish "$dir/db_password"
fi

echo "secrets ready in $dir"
