"""Password hashing (argon2id), token signing (Ed25519 JWT) and secret encryption (Fernet)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from servicekit.auth import ALGORITHM, Role

_hasher = PasswordHasher()
# Verifying against this keeps the time for unknown emails equal to wrong passwords.
_DUMMY_HASH = _hasher.hash("parley-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class TokenIssuer:
    def __init__(
        self,
        private_key_pem: str,
        *,
        issuer: str,
        audience: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
    ) -> None:
        self._key = private_key_pem
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def _encode(self, claims: dict[str, object], ttl: timedelta) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires = now + ttl
        token = jwt.encode(
            {**claims, "iss": self.issuer, "aud": self.audience, "iat": now, "exp": expires},
            self._key,
            algorithm=ALGORITHM,
        )
        return token, expires

    def access_token(self, *, user_id: uuid.UUID, role: Role, email: str, name: str) -> str:
        token, _ = self._encode(
            {
                "sub": str(user_id),
                "role": role.value,
                "email": email,
                "name": name,
                "typ": "access",
                "jti": uuid.uuid4().hex,
            },
            self.access_ttl,
        )
        return token

    def refresh_token(self, *, user_id: uuid.UUID, role: Role) -> tuple[str, str, datetime]:
        jti = uuid.uuid4().hex
        token, expires = self._encode(
            {"sub": str(user_id), "role": role.value, "typ": "refresh", "jti": jti}, self.refresh_ttl
        )
        return token, jti, expires


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError(
                "a stored secret cannot be decrypted: SETTINGS_ENCRYPTION_KEY changed?"
            ) from exc
