"""The cThings AuthServer (`auth_url`): client-credentials grant, HS256 JWT access tokens.

Tokens are stateless, as JWTs are: the API checks the signature and `exp`. They
are signed with a key of the current "generation", so `reset` with
`tokens: true` forgets them all by moving to the next key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ctcloud_emulator.services import CTHINGS_AUTH, Endpoint, Services
from ctcloud_emulator.web import basic_credentials, json_response, to_json

PREFIX = "/cthings-auth"
ISSUER = "authserver.cthings.cloud"
SCOPE = "api"
DESCRIPTIONS = {
    "invalid_client": "Client authentication failed: send the Client ID and Client Secret as HTTP Basic credentials.",
    "unsupported_grant_type": "Only the client_credentials grant type is supported.",
    "invalid_scope": "The requested scope is invalid: use scope=api.",
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_token(key: bytes, client_id: str, ttl: int, now: float) -> str:
    """An HS256 JWT with the claims of the vendor's example token (plus a unique `jti`)."""
    issued_at = int(now)
    # `exp` is rounded up, never down: the token lives at least the `expires_in` it is announced with.
    claims = {"sub": client_id, "iss": ISSUER, "aud": client_id, "iat": issued_at, "exp": math.ceil(now + ttl),
              "scope": [SCOPE], "jti": secrets.token_hex(8)}
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{_b64url(to_json(header).encode())}.{_b64url(to_json(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def token_problem(key: bytes, token: str, now: float) -> str | None:
    """None when the token is valid now, else the 401 message."""
    parts = token.split(".")
    if len(parts) != 3:
        return "The access token is malformed"
    try:
        signature = _b64url_decode(parts[2])
        claims: dict[str, Any] = json.loads(_b64url_decode(parts[1]))
    except (binascii.Error, ValueError):
        return "The access token is malformed"
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return "The access token is invalid"
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) or now >= claims["exp"]:
        return "The access token has expired"
    return None


class CthingsAuth:
    def __init__(self, services: Services) -> None:
        self.services = services

    def rules(self) -> list[Rule]:
        return [
            Rule(f"{PREFIX}/token", methods=["POST"], endpoint=Endpoint(CTHINGS_AUTH, self.token)),
            Rule(f"{PREFIX}/<path:unknown>", endpoint=Endpoint(CTHINGS_AUTH, self.not_found)),
        ]

    @staticmethod
    def not_found(request: Request, unknown: str) -> Response:
        del request, unknown
        return json_response({"error": "not_found", "error_description": "No such endpoint"}, 404)

    def _error(self, error: str, status: int, description: str | None = None) -> Response:
        self.services.stats.count_token_error(error)
        headers = {"Cache-Control": "no-store"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="cThings AuthServer"'
        return json_response({"error": error, "error_description": description or DESCRIPTIONS[error]}, status, headers)

    def token(self, request: Request) -> Response:
        """Basic auth is the only client authentication: form-field credentials are not read."""
        form = request.form  # multipart/form-data as the prose says, url-encoded as the Python example sends
        grant_type = form.get("grant_type")
        self.services.stats.count_token_request("cthings", grant_type or "")
        credentials = self.services.credentials
        if basic_credentials(request) != (credentials.cthings_client_id, credentials.cthings_client_secret):
            return self._error("invalid_client", 401)
        if not grant_type:
            return self._error("invalid_request", 400, "The grant_type parameter is required.")
        if grant_type != "client_credentials":
            return self._error("unsupported_grant_type", 400)
        scope = form.get("scope")
        if not scope:
            return self._error("invalid_request", 400, "The scope parameter is required.")
        if scope.split() != [SCOPE]:
            return self._error("invalid_scope", 400)
        ttl = self.services.knobs.cthings_access_ttl
        token = mint_token(self.services.state.cthings_signing_key(), credentials.cthings_client_id, ttl, time.time())
        return json_response({"access_token": token, "expires_in": ttl, "scope": [SCOPE], "token_type": "Bearer"}, 200,
                             {"Cache-Control": "no-store"})
