"""First-run secrets for the embedded default: a JWT signing key pair and the settings encryption key,
written once under var/secrets with owner-only permissions and reused afterwards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from servicekit.testing.keys import generate_key_pair


@dataclass(frozen=True)
class DevSecrets:
    jwt_private_key_file: Path
    jwt_public_key_file: Path
    settings_key_file: Path
    unsubscribe_secret_file: Path


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def ensure_dev_secrets(directory: Path) -> DevSecrets:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    secrets = DevSecrets(
        directory / "jwt_private.pem",
        directory / "jwt_public.pem",
        directory / "settings.key",
        directory / "unsubscribe.key",
    )
    if not (secrets.jwt_private_key_file.exists() and secrets.jwt_public_key_file.exists()):
        pair = generate_key_pair()
        _write_private(secrets.jwt_private_key_file, pair.private_pem)
        secrets.jwt_public_key_file.write_text(pair.public_pem)
    if not secrets.settings_key_file.exists():
        _write_private(secrets.settings_key_file, Fernet.generate_key().decode())
    if not secrets.unsubscribe_secret_file.exists():
        _write_private(secrets.unsubscribe_secret_file, Fernet.generate_key().decode())
    return secrets
