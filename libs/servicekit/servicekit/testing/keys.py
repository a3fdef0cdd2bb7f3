"""Ed25519 key pairs and token minting for tests and for `make up`'s first run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..auth import ALGORITHM, Role


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_key_pair() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem, public_pem)


def mint_token(
    keys: KeyPair,
    *,
    user_id: uuid.UUID,
    role: Role,
    email: str = "user@example.com",
    expires_in: timedelta = timedelta(minutes=15),
    issuer: str = "parley-gateway",
    audience: str = "parley",
    token_type: str = "access",  # noqa: S107 - a claim value, not a secret
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "email": email,
        "name": email.split("@")[0],
        "typ": token_type,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + expires_in,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, keys.private_pem, algorithm=ALGORITHM)
