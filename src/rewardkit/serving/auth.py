"""API-key check: `Authorization: Bearer KEY` (what the OpenAI client and vLLM's `--api-key` use), `X-API-Key: KEY`,
or `?api_key=KEY` in the URL for clients that send no headers (OpenRLHF's `--remote_rm_url`). `/health` stays open.

A server bound beyond loopback must have a key (`require_key_off_loopback`); a loopback-only server may go without.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

API_KEY_ENV = "REWARDKIT_API_KEY"
OPEN_PATHS = frozenset({"/health"})


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_key_off_loopback(host: str, api_key: str | None) -> None:
    """Refuse to serve beyond loopback without a key."""
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"--host {host} accepts connections from other machines: set an API key with --api-key or "
            f"{API_KEY_ENV} (or bind to 127.0.0.1)"
        )


def _presented_keys(scope: Scope) -> list[str]:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key", [])
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        keys.append(authorization[len("bearer ") :].strip())
    if "x-api-key" in headers:
        keys.append(headers["x-api-key"])
    return keys


def api_key_guard(app: ASGIApp, api_key: str) -> ASGIApp:
    """ASGI middleware answering 401 to any request without the key (compared in constant time)."""
    expected = api_key.encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await app(scope, receive, send)
            return
        if any(hmac.compare_digest(key.encode(), expected) for key in _presented_keys(scope)):
            await app(scope, receive, send)
            return
        detail = "missing or wrong API key: send `Authorization: Bearer KEY`, `X-API-Key: KEY` or `?api_key=KEY`"
        response = JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    return guarded
