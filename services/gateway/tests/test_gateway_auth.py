"""Login, tokens, cookies, refresh rotation, rate limits — through the real gateway."""

from __future__ import annotations

import pytest
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT

pytestmark = pytest.mark.integration


async def test_login_gives_tokens_and_cookies(stack):
    r = await stack.client.post(
        "/api/auth/login", json={"email": "agent@example.com", "password": "agent-demo"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["user"]["email"] == "agent@example.com" and body["user"]["role"] == "AGENT"
    cookies = r.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith("parley_access="))
    refresh = next(c for c in cookies if c.startswith("parley_refresh="))
    assert "HttpOnly" in access and "samesite=lax" in access.lower() and "Secure" not in access
    assert "HttpOnly" in refresh and "Path=/api/auth" in refresh
    me = await stack.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(DEMO_AGENT.id)
    # The cookie alone authenticates too (the console uses it).
    assert (await stack.client.get("/api/auth/me")).json()["email"] == "agent@example.com"


async def test_wrong_credentials_and_disabled_accounts(stack):
    r = await stack.client.post("/api/auth/login", json={"email": "agent@example.com", "password": "nope"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = await stack.client.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": "agent-demo"}
    )
    assert r.status_code == 401
    r = await stack.client.post("/api/auth/login", json={"email": "not an email", "password": "x"})
    assert r.status_code == 422
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    assert (await stack.client.delete(f"/api/admin/users/{DEMO_AGENT.id}", headers=admin)).status_code == 204
    r = await stack.client.post(
        "/api/auth/login", json={"email": "agent@example.com", "password": "agent-demo"}
    )
    assert r.status_code == 401


async def test_login_is_rate_limited_with_retry_after(stack):
    statuses = []
    for _ in range(7):
        r = await stack.client.post("/api/auth/login", json={"email": "agent@example.com", "password": "bad"})
        statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    assert int(r.headers["Retry-After"]) >= 1 and r.json()["type"].endswith("/rate-limited")


async def test_refresh_rotates_and_reuse_signs_everyone_out(stack):
    login = (
        await stack.client.post(
            "/api/auth/login", json={"email": "agent@example.com", "password": "agent-demo"}
        )
    ).json()
    first = login["refresh_token"]
    r = await stack.client.post("/api/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != first
    r = await stack.client.post("/api/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 401 and "already used" in r.json()["detail"]
    # The theft response revoked the newer token as well.
    assert (await stack.client.post("/api/auth/refresh", json={"refresh_token": second})).status_code == 401
    # An access token is not a refresh token.
    r = await stack.client.post("/api/auth/refresh", json={"refresh_token": login["access_token"]})
    assert r.status_code == 401


async def test_logout_revokes_and_clears_cookies(stack):
    await stack.client.post("/api/auth/login", json={"email": "agent@example.com", "password": "agent-demo"})
    r = await stack.client.post("/api/auth/logout")
    assert r.status_code == 204
    assert any(c.startswith('parley_access=""') or "Max-Age=0" in c for c in r.headers.get_list("set-cookie"))
    stack.client.cookies.clear()
    assert (await stack.client.get("/api/auth/me")).status_code == 401
