"""`/api/auth`: login, refresh (rotating), logout, me. Tokens go in the body and in httpOnly cookies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import jwt
import sqlalchemy as sa
from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, EmailStr, Field
from servicekit.app import DbSession, Runtime
from servicekit.auth import ACCESS_COOKIE, CurrentPrincipal, Role
from servicekit.errors import NotFound, Unauthorized

from ..adapters.crypto import verify_password
from ..adapters.tables import refresh_tokens, users
from ..domain.rate_limit import Rule
from .deps import Issuer, Settings, client_ip, enforce
from .schemas import UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])
REFRESH_COOKIE = "parley_refresh"


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str
    user: UserOut


class RefreshIn(BaseModel):
    refresh_token: str | None = None


def _set_cookies(response: Response, settings: Settings, access: str, refresh: str) -> None:
    secure = settings.profile.value == "prod"
    response.set_cookie(
        ACCESS_COOKIE,
        access,
        max_age=settings.access_token_minutes * 60,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh,
        max_age=settings.refresh_token_days * 86400,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/api/auth",
    )


async def _issue(
    runtime: Runtime, issuer: Issuer, settings: Settings, user: sa.RowMapping, response: Response
) -> TokenOut:
    user_id, role = uuid.UUID(user["id"]), Role(user["role"])
    access = issuer.access_token(user_id=user_id, role=role, email=user["email"], name=user["name"])
    refresh, jti, expires = issuer.refresh_token(user_id=user_id, role=role)
    async with runtime.db.transaction() as session:
        await session.execute(
            sa.insert(refresh_tokens).values(
                jti=jti, user_id=user["id"], expires_at=expires, created_at=datetime.now(UTC)
            )
        )
    _set_cookies(response, settings, access, refresh)
    return TokenOut(
        access_token=access,
        expires_in=settings.access_token_minutes * 60,
        refresh_token=refresh,
        user=UserOut.model_validate(dict(user)),
    )


@router.post("/login", response_model=TokenOut)
async def login(
    data: LoginIn,
    request: Request,
    response: Response,
    session: DbSession,
    runtime: Runtime,
    issuer: Issuer,
    settings: Settings,
) -> TokenOut:
    rule = Rule("login", settings.login_rate_per_minute, 60)
    enforce(request, rule, f"ip:{client_ip(request)}")
    enforce(request, rule, f"email:{data.email.lower()}")
    user = (
        (await session.execute(sa.select(users).where(users.c.email == data.email.lower())))
        .mappings()
        .first()
    )
    if (
        not verify_password(user["password_hash"] if user else None, data.password)
        or not user
        or not user["active"]
    ):
        raise Unauthorized("Email or password is incorrect.")
    return await _issue(runtime, issuer, settings, user, response)


@router.post("/refresh", response_model=TokenOut)
async def refresh(
    request: Request,
    response: Response,
    runtime: Runtime,
    issuer: Issuer,
    settings: Settings,
    data: Annotated[RefreshIn | None, Body()] = None,
) -> TokenOut:
    enforce(request, Rule("refresh", settings.critical_rate_per_minute, 60), f"ip:{client_ip(request)}")
    token = (data.refresh_token if data else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("No refresh token.")
    verifier = request.app.state.token_verifier
    principal = verifier.verify(token, expected_type="refresh")
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    reused = False
    async with runtime.db.transaction() as session:
        row = (
            (await session.execute(sa.select(refresh_tokens).where(refresh_tokens.c.jti == jti)))
            .mappings()
            .first()
        )
        if row is None:
            raise Unauthorized("Unknown refresh token.")
        if row["revoked_at"] is not None:
            # A rotated token used again means it leaked: end every session of this user (committed
            # before answering, so the revocation is not rolled back with the error).
            reused = True
            await session.execute(
                sa.update(refresh_tokens)
                .where(refresh_tokens.c.user_id == row["user_id"], refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        else:
            await session.execute(
                sa.update(refresh_tokens)
                .where(refresh_tokens.c.jti == jti)
                .values(revoked_at=datetime.now(UTC))
            )
            user = (
                (await session.execute(sa.select(users).where(users.c.id == str(principal.user_id))))
                .mappings()
                .first()
            )
    if reused:
        raise Unauthorized("This refresh token was already used; all sessions were signed out.")
    if user is None or not user["active"]:
        raise Unauthorized("The account is disabled.")
    return await _issue(runtime, issuer, settings, user, response)


@router.post("/logout", status_code=204)
async def logout(request: Request, runtime: Runtime) -> Response:
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        try:
            jti = jwt.decode(token, options={"verify_signature": False}).get("jti")
        except jwt.PyJWTError:
            jti = None
        if jti:
            async with runtime.db.transaction() as session:
                await session.execute(
                    sa.update(refresh_tokens)
                    .where(refresh_tokens.c.jti == jti)
                    .values(revoked_at=datetime.now(UTC))
                )
    response = Response(status_code=204)
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/api/auth")
    return response


@router.get("/me", response_model=UserOut)
async def me(principal: CurrentPrincipal, session: DbSession) -> UserOut:
    user = (
        (await session.execute(sa.select(users).where(users.c.id == str(principal.user_id))))
        .mappings()
        .first()
    )
    if user is None:
        raise NotFound("User not found.")
    return UserOut.model_validate(dict(user))
