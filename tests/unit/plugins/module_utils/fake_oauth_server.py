# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small scripted HTTP server on 127.0.0.1 for the client's unit tests.

It knows just enough OAuth2 to test the token logic (CT rotation with
Doorkeeper's revoke-on-first-use, cThings client credentials with Basic auth)
and lets a test script exact replies for API paths: a 503 to a POST, a stall
past the client's timeout, a 429 with Retry-After. The full contract is the
emulator's job (tests/emulator); this server exists to make faults exact.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CT_CLIENT = ("ct-client-id-0001", "ct-client-secret-SECRET-0001")
CTHINGS_CLIENT = ("2f1c6e0a-5a55-4c9b-9d0e-4f7f3c2b1a00", "cthingsSECRETsecret0123456789")
INITIAL_REFRESH = "refresh-initial-SECRET-0000000000"


class Scripted:
    """A reply: status, JSON body (or raw bytes), headers, and an optional stall before answering."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None, stall: float = 0.0):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw
        self.stall = stall


class FakeState:
    """``token_error_status``: answer every CT token error with this status (older Doorkeeper: 401), not 400/401."""

    def __init__(self, rotation: str = "on_use", ct_ttl: int = 7200, cthings_ttl: int = 3600, token_error_status: int | None = None) -> None:
        self.lock = threading.Lock()
        self.rotation = rotation
        self.token_error_status = token_error_status
        self.lose_refresh_replies = 0  # the next N refresh grants are made, then the connection closes unanswered
        self.token_faults: list[int] = []  # statuses answering the next CT token requests, before anything is done
        self.ct_ttl = ct_ttl
        self.cthings_ttl = cthings_ttl
        self.counter = itertools.count(1)
        # refresh token -> {"access": ..., "previous": refresh token or None, "revoked": bool}
        self.grants = {INITIAL_REFRESH: {"access": None, "previous": None, "revoked": False}}
        self.access = {}  # access token -> refresh token of its grant
        self.cthings_tokens = {}  # access token -> expiry
        self.requests = []  # (method, path) of every request
        self.queries = []  # (method, path, {name: [values]}) of every request
        self.token_requests = {"refresh_token": 0, "authorization_code": 0, "client_credentials": 0}
        self.token_errors = []  # error codes answered
        self.scripts = {}  # (method, path) -> list of Scripted, consumed in order; the last one repeats
        self.codes = {"good-code": False}  # authorization code -> used

    def script(self, method: str, path: str, *replies: Scripted) -> None:
        self.scripts[(method, path)] = list(replies)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(1 for m, p in self.requests if (method is None or m == method) and (path is None or p == path))

    def revoke_all_access(self) -> None:
        with self.lock:
            self.access.clear()

    def valid_refresh_tokens(self) -> list[str]:
        return [token for token, grant in self.grants.items() if not grant["revoked"]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOAuth/1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def state(self) -> FakeState:
        return self.server.state  # type: ignore[attr-defined]

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            boundary = content_type.split("boundary=", 1)[1]
            fields = {}
            for part in raw.split("--" + boundary):
                if 'name="' in part:
                    name = part.split('name="', 1)[1].split('"', 1)[0]
                    fields[name] = part.split("\r\n\r\n", 1)[1].rstrip("\r\n")
            return fields
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        if not path.endswith("/token"):
            self._drain()  # drain it: the connection is kept alive for the next request
        with self.state.lock:
            self.state.requests.append((method, path))
            self.state.queries.append((method, path, parse_qs(urlsplit(self.path).query, keep_blank_values=True)))
        if path == "/ct-id/oauth/token":
            return self._ct_token()
        if path == "/cthings-auth/token":
            return self._cthings_token()
        if path.startswith("/ct-api/"):
            if not self._ct_authorized():
                return self._send(401, {"message": "The access token is invalid"})
        elif path.startswith("/cthings-api/") and not self._cthings_authorized():
            return self._send(401, {"api": "cThings Cloud API", "code": 401, "data": None, "links": {}, "message": "Unauthorized"})
        self._scripted(method, path)

    def _scripted(self, method: str, path: str) -> None:
        with self.state.lock:
            replies = self.state.scripts.get((method, path))
            reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else None
        if reply is None:
            return self._send(404, {"message": f"no script for {method} {path}"})
        if reply.stall:
            time.sleep(reply.stall)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(reply.status, reply.body, reply.headers, reply.raw)

    # -- CT ---------------------------------------------------------------

    def _bearer(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    def _ct_authorized(self) -> bool:
        token = self._bearer()
        with self.state.lock:
            refresh = self.state.access.get(token or "")
            if refresh is None:
                return False
            grant = self.state.grants[refresh]
            # Doorkeeper's refresh_token_revoked_on_use: first use of the new access token
            # revokes the previous grant.
            if grant["previous"]:
                previous = self.state.grants[grant["previous"]]
                previous["revoked"] = True
                self.state.access.pop(previous["access"], None)
                grant["previous"] = None
            return True

    def _ct_token_error(self, status: int, error: str, description: str) -> None:
        self.state.token_errors.append(error)
        self._send(self.state.token_error_status or status, {"error": error, "error_description": description})

    def _ct_token(self) -> None:
        form = self._form()
        state = self.state
        with state.lock:
            if state.token_faults:
                return self._send(state.token_faults.pop(0), {"error": "temporarily_unavailable"})
            grant_type = form.get("grant_type", "")
            if grant_type in state.token_requests:
                state.token_requests[grant_type] += 1
            if (form.get("client_id"), form.get("client_secret")) != CT_CLIENT:
                return self._ct_token_error(401, "invalid_client", "Client authentication failed")
            if grant_type == "authorization_code":
                if state.codes.get(form.get("code", ""), True):
                    return self._ct_token_error(400, "invalid_grant", "The code is invalid")
                state.codes[form["code"]] = True
                previous = None
            elif grant_type == "refresh_token":
                previous = form.get("refresh_token", "")
                grant = state.grants.get(previous)
                if grant is None or grant["revoked"]:
                    return self._ct_token_error(400, "invalid_grant", "The refresh token is invalid")
                if state.rotation == "strict":
                    grant["revoked"] = True
                    state.access.pop(grant["access"], None)
                    previous = None
            else:
                return self._ct_token_error(400, "unsupported_grant_type", "unsupported")
            number = next(state.counter)
            access, refresh = f"access-{number:06d}-SECRET", f"refresh-{number:06d}-SECRET"
            state.grants[refresh] = {"access": access, "previous": previous, "revoked": False}
            state.access[access] = refresh
            lost = grant_type == "refresh_token" and state.lose_refresh_replies > 0
            if lost:
                state.lose_refresh_replies -= 1
        if lost:
            self.close_connection = True  # the grant is made; the reply never leaves
            return None
        self._send(200, {"access_token": access, "token_type": "bearer", "expires_in": state.ct_ttl, "refresh_token": refresh, "created_at": int(time.time())})

    # -- cThings ----------------------------------------------------------

    def _cthings_authorized(self) -> bool:
        token = self._bearer()
        with self.state.lock:
            expiry = self.state.cthings_tokens.get(token or "")
        return expiry is not None and expiry > time.time()

    def _cthings_token(self) -> None:
        header = self.headers.get("Authorization", "")
        form = self._form()
        state = self.state
        with state.lock:
            state.token_requests["client_credentials"] += 1
            expected = "Basic " + base64.b64encode(("{}:{}".format(*CTHINGS_CLIENT)).encode()).decode()
            if header != expected:
                state.token_errors.append("invalid_client")
                return self._send(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
            if form.get("grant_type") != "client_credentials" or form.get("scope") != "api":
                return self._send(400, {"error": "invalid_request", "error_description": "grant_type and scope=api are required"})
            token = f"eyJhbGciOiJIUzI1NiJ9.{next(state.counter):06d}.SECRETsig"
            state.cthings_tokens[token] = time.time() + state.cthings_ttl
        self._send(200, {"access_token": token, "expires_in": state.cthings_ttl, "scope": ["api"], "token_type": "Bearer"})


class FakeServer:
    def __init__(self, **state_options: Any) -> None:
        self.state = FakeState(**state_options)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def urls(self) -> dict[str, str]:
        return {
            "ct_auth_url": self.base + "/ct-id",
            "ct_api_url": self.base + "/ct-api/api/v1",
            "cthings_auth_url": self.base + "/cthings-auth/token",
            "cthings_api_url": self.base + "/cthings-api",
        }

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def envelope(data: Any, links: dict[str, Any] | None = None, code: int = 200, message: str | None = None) -> dict[str, Any]:
    return {
        "api": "cThings Cloud API", "code": code, "data": data, "links": links or {}, "message": message,
        "request": {"url": "", "method": "GET", "body": {}}, "websocket": False, "version": "3.13.1",
    }
