"""JWT verification (the gateway signs with Ed25519, services verify with its public key) and RBAC
dependencies. Tokens come from the bearer header or the httpOnly access cookie."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID

import jwt
from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from .errors import Forbidden, Unauthorized

ACCESS_COOKIE = "parley_access"
ALGORITHM = "EdDSA"


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    role: Role
    email: str
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class TokenVerifier:
    def __init__(self, public_key_pem: str, *, issuer: str, audience: str) -> None:
        self.public_key_pem = public_key_pem
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str, *, expected_type: str = "access") -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(
                "The token has expired; log in again or refresh it.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(
                "The token is not valid.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc
        if claims.get("typ") != expected_type:
            raise Unauthorized(f"A {expected_type} token is required.")
        try:
            return Principal(
                user_id=UUID(claims["sub"]),
                role=Role(claims["role"]),
                email=str(claims.get("email", "")),
                name=str(claims.get("name", "")),
            )
        except (KeyError, ValueError) as exc:
            raise Unauthorized("The token is missing required claims.") from exc


def bearer_token(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(ACCESS_COOKIE)


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not configured")
    return verifier


def get_principal(request: Request, verifier: Annotated[TokenVerifier, Depends(get_verifier)]) -> Principal:
    token = bearer_token(request)
    if not token:
        raise Unauthorized("Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    principal = verifier.verify(token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def connection_principal(connection: HTTPConnection) -> Principal:
    """`get_principal` for a websocket handshake (FastAPI's Request dependencies do not apply there):
    the same bearer header or access cookie, verified the same way. Browsers cannot set headers on a
    websocket, so the console's httpOnly cookie is what they send. Raises Unauthorized."""
    verifier: TokenVerifier | None = getattr(connection.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not configured")
    token = bearer_token(connection)
    if not token:
        raise Unauthorized("Authentication required.", headers={"WWW-Authenticate": "Bearer"})
    return verifier.verify(token)


def same_origin(connection: HTTPConnection) -> bool:
    """Whether a websocket handshake comes from a page of this site (or from no browser at all).

    Browsers attach cookies to websocket handshakes from any origin and no CORS check applies, so a
    cookie-authenticated socket must refuse foreign origins (cross-site websocket hijacking). A client
    without an Origin header is not a browser and carries no victim's cookie. Behind a proxy the site is
    the `x-forwarded-host` it passes on."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    site = connection.headers.get("x-forwarded-host") or connection.headers.get("host", "")
    return bool(site) and urlsplit(origin).netloc.lower() == site.lower()


def require_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This action needs the ADMIN role.")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]
