"""What one request may cost the server, and the checks that refuse more before any model work is done.

Every refusal is a 4xx whose `detail` names the problem and the limit: a body over `max_body_bytes` (413, refused
from its Content-Length before it is read), a body not received within `read_timeout_s` (408), a body that is not
UTF-8, not JSON, or holds NaN/Infinity or a lone surrogate (400), a list over `max_items` or a text over
`max_text_chars` (413). Validation errors (422) name the field without echoing the input back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class ServingLimitsConfig:
    """Per-request bounds of `rewardkit serve` (each one is a CLI option)."""

    max_body_bytes: int = field(default=8 * 2**20, metadata={"help": "Largest request body, bytes (413 above)."})
    max_items: int = field(default=1024, metadata={"help": "Most entries in any list of a request (413 above)."})
    max_text_chars: int = field(default=100_000, metadata={"help": "Longest text in a request, chars (413 above)."})
    request_timeout_s: float = field(default=60.0, metadata={"help": "A request not answered by then gets 503."})
    read_timeout_s: float = field(default=10.0, metadata={"help": "Time to receive a request's headers and body."})
    shutdown_timeout_s: float = field(default=30.0, metadata={"help": "After SIGTERM, unanswered requests get 503."})

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_items", "max_text_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("request_timeout_s", "read_timeout_s", "shutdown_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


class BodyTooLarge(Exception):
    pass


class ClientDisconnected(Exception):
    pass


async def _json_answer(send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})
    await response({"type": "http"}, _never_receive, send)


async def _never_receive() -> Message:
    raise RuntimeError("a refusal reads nothing")


class BodyGuard:
    """ASGI middleware: reads each request body in full, within `max_body_bytes` and `read_timeout_s`, before the
    app runs, then replays it; later `receive()` calls go to the server (so a handler can see the client leave)."""

    def __init__(self, app: ASGIApp, limits: ServingLimitsConfig) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            await _json_answer(send, 413, self._too_large(f"{int(declared):,} bytes"))
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive), timeout=self.limits.read_timeout_s)
        except BodyTooLarge:
            await _json_answer(send, 413, self._too_large("more"))
            return
        except TimeoutError:
            detail = f"the request body was not received within {self.limits.read_timeout_s:g} s (--read-timeout-s)"
            await _json_answer(send, 408, detail)
            return
        except ClientDisconnected:
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self, size: str) -> str:
        return f"the request body is {size}, over the limit of {self.limits.max_body_bytes:,} bytes (--max-body-bytes)"

    async def _read_body(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replaying_receive() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying_receive


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number; send a finite number or null")


def _check_string(text: str, path: str, limits: ServingLimitsConfig) -> None:
    if len(text) > limits.max_text_chars:
        raise HTTPException(
            413,
            f"{path}: a text of {len(text):,} characters, over the limit of {limits.max_text_chars:,} "
            "(--max-text-chars)",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise HTTPException(
            400, f"{path}: a lone surrogate escape at character {error.start}; not valid text"
        ) from None


def check_values(value: Any, limits: ServingLimitsConfig) -> None:
    """Refuse any list longer than `max_items`, any text longer than `max_text_chars` and any lone surrogate,
    naming the JSON path ($.prompts[3])."""
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_string(item, path, limits)
        elif isinstance(item, list):
            if len(item) > limits.max_items:
                raise HTTPException(
                    413,
                    f"{path}: a list of {len(item):,} entries, over the limit of {limits.max_items:,} "
                    "(--max-items); split the request",
                )
            stack += [(entry, f"{path}[{index}]") for index, entry in enumerate(item)]
        elif isinstance(item, dict):
            for key, entry in item.items():
                _check_string(key, f"{path} (a key)", limits)
                stack.append((entry, f"{path}.{key}"))


def parse_json_body(body: bytes, limits: ServingLimitsConfig) -> Any:
    """The request's JSON, or a 400 naming what is wrong (not UTF-8, malformed, NaN/Infinity, nested too deep)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPException(
            400,
            f"the body is not UTF-8: byte {error.start} is {body[error.start : error.start + 1]!r}; send JSON "
            "encoded as UTF-8",
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise HTTPException(400, f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    except RecursionError:
        raise HTTPException(400, "the JSON is nested too deeply") from None
    check_values(value, limits)
    return value


class _CheckedJSONRequest(Request):
    """A request whose `json()` is `parse_json_body` (FastAPI reads bodies through `Request.json`)."""

    limits: ServingLimitsConfig

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body(), self.limits)
        return self._json


def checked_json_route(limits: ServingLimitsConfig) -> type[APIRoute]:
    """An APIRoute class whose JSON bodies go through `parse_json_body` (FastAPI's custom request class pattern)."""

    class CheckedJSONRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Any]]:
            handler = super().get_route_handler()

            async def checked_handler(request: Request) -> Any:
                checked = _CheckedJSONRequest(request.scope, request.receive)
                checked.limits = limits
                return await handler(checked)

            return checked_handler

    return CheckedJSONRoute


def _described(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{location or 'body'}: {error.get('msg', 'invalid')}"


async def validation_error_answer(_: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, without the input (it may be huge, or hold values JSON cannot write)."""
    errors = error.errors()
    shown = "; ".join(_described(entry) for entry in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return JSONResponse({"detail": f"invalid request: {shown}{more}"}, status_code=422)
