"""HTTP helpers shared by the four emulated hosts and the admin API."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

JSON_MIMETYPE = "application/json"


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(to_json(body), status=status, headers=dict(headers or {}), mimetype=JSON_MIMETYPE)


def json_text_response(text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """For bodies assembled from pre-serialized JSON fragments."""
    return Response(text, status=status, headers=dict(headers or {}), mimetype=JSON_MIMETYPE)


def no_content() -> Response:
    return Response(status=204)


class MalformedBody(Exception):
    """A JSON content type with a body that is not JSON."""


def json_body(request: Request) -> Any:
    """The parsed JSON body, or None when there is none.

    Like Rails, only a JSON content type makes the body parameters: a JSON text
    sent as `text/plain` is ignored, not guessed at.
    """
    if not request.mimetype or not (request.mimetype == JSON_MIMETYPE or request.mimetype.endswith("+json")):
        return None
    raw = request.get_data(cache=False)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise MalformedBody(str(error)) from None


def optional_int(text: str | None) -> int | None:
    """A query parameter as an integer, None when absent or not an integer."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client credentials of a Basic ``Authorization`` header; None without one.

    A Basic header that does not decode to ``id:secret`` gives ``("", "")``: it authenticates nobody.
    """
    scheme, _separator, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return (client_id, secret) if separator else ("", "")


def bearer_token(request: Request) -> str | None:
    """The token of a Bearer ``Authorization`` header, or None when there is none."""
    scheme, _separator, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
