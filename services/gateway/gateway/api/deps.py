"""Gateway dependencies: the issuer, the secret box, the rate limiter and the notification hub live on
app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from servicekit.app import Runtime
from servicekit.errors import TooManyRequests

from ..adapters.crypto import SecretBox, TokenIssuer
from ..adapters.notification_hub import NotificationHub
from ..domain.rate_limit import RateLimiter, Rule
from ..settings import GatewaySettings


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_issuer(runtime: Runtime) -> TokenIssuer:
    issuer: TokenIssuer = runtime.extras["issuer"]
    return issuer


def get_secret_box(runtime: Runtime) -> SecretBox:
    box: SecretBox = runtime.extras["secret_box"]
    return box


def get_notification_hub(runtime: Runtime) -> NotificationHub:
    hub: NotificationHub = runtime.extras["notification_hub"]
    return hub


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Issuer = Annotated[TokenIssuer, Depends(get_issuer)]
Secrets = Annotated[SecretBox, Depends(get_secret_box)]
Hub = Annotated[NotificationHub, Depends(get_notification_hub)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def enforce(request: Request, rule: Rule, key: str) -> None:
    limiter: RateLimiter = request.app.state.runtime.extras["rate_limiter"]
    retry_after = limiter.hit(rule, key)
    if retry_after is not None:
        raise TooManyRequests(
            f"Too many requests; try again in {int(retry_after)} s.",
            headers={"Retry-After": str(int(retry_after))},
        )
