"""The HTTP server and the `Emulator` that ties state, app, server and state file together."""

from __future__ import annotations

import os
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from ctcloud_emulator.app import EmulatorApp
from ctcloud_emulator.config import Knobs, SeedParams
from ctcloud_emulator.credentials import Credentials
from ctcloud_emulator.dialects import DEFAULT, Dialect
from ctcloud_emulator.faults import FaultInjector
from ctcloud_emulator.persistence import StateFileWriter, load_state_file
from ctcloud_emulator.server_headers import DROP_CONNECTION_HEADER
from ctcloud_emulator.services import Services
from ctcloud_emulator.state import EmulatorState
from ctcloud_emulator.stats import Stats
from ctcloud_emulator.webhooks import WebhookSender, WebhookTarget

LOOPBACK = "127.0.0.1"
IDLE_CONNECTION_SECONDS = 75  # how long a kept-alive connection may sit idle (nginx's default)
DRAIN_CHUNK_BYTES = 65_536


class KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections.

    Werkzeug's own handler answers every request with `Connection: close`, because
    it cannot tell where a request body ends. This one can: it bounds the body by
    its Content-Length (or the chunked encoding) and reads whatever the
    application left unread before answering, so the next request on the
    connection starts at its request line. Responses always carry a
    Content-Length. Clients then reuse connections, and benchmarks measure the
    collection rather than TCP handshakes.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY, Nagle holds the body
    # back until the client's delayed ACK (~40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    access_log = False

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        if not environ.get("wsgi.input_terminated"):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length, self.close_connection = 0, True
            environ["wsgi.input"] = LimitedStream(self.rfile, max(length, 0))
        status, headers, body = self._call_application(environ)
        while environ["wsgi.input"].read(DRAIN_CHUNK_BYTES):
            pass
        if any(name == DROP_CONNECTION_HEADER for name, _value in headers):
            self.close_connection = True
            return
        code_text, _separator, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        has_body = code not in (204, 304) and code >= 200
        if has_body:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _call_application(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            del exc_info
            started[:] = [status, headers]
            return None

        try:
            chunks = self.server.app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:  # pylint: disable=broad-except  # the app answers its own errors; this is the last guard
            self.log_error("unhandled error in the WSGI application")
            self.close_connection = True
            return "500 Internal Server Error", [("Content-Type", "application/json")], b'{"message":"Internal server error"}'
        return started[0], started[1], body

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin  # http.server's signature
        # An idle kept-alive connection timing out is normal, not an error worth a line.
        if self.access_log or not format.startswith("Request timed out"):
            super().log_error(format, *args)


class Emulator:
    """One emulator instance: `start()` serves in a background thread, `stop()` saves and closes."""

    def __init__(self, seed_params: SeedParams, knobs: Knobs, port: int = 0, host: str = LOOPBACK,
                 state_file: str | None = None, verbose: bool = False, webhook: WebhookTarget | None = None,
                 dialect: Dialect = DEFAULT, pose_as_real_cloud: bool = False) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the emulator binds {LOOPBACK} only, not {host}")
        saved = load_state_file(state_file) if state_file else None
        if saved is not None:
            # The file wins over the command line: its tokens belong to its credentials and data.
            seed_params = SeedParams(**saved["seed_params"])
            credentials = Credentials.from_seed(saved["credential_seed"])
        else:
            credentials = Credentials.from_seed(seed_params.seed)
        state = EmulatorState(credentials, seed_params, saved, dialect)
        self.services = Services(credentials, state, Stats(), FaultInjector(credentials.seed), knobs, dialect,
                                 announces_itself=not pose_as_real_cloud)
        self._writer = StateFileWriter(state_file, state.snapshot) if state_file else None
        if self._writer is not None:
            state.set_change_listener(self._writer.notify)
        handler = type("RequestHandler", (KeepAliveRequestHandler,), {"access_log": verbose})
        self.webhooks = WebhookSender(webhook)
        app = EmulatorApp(self.services, self.webhooks)
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=handler)
        # socketserver would join every connection thread on close, including idle kept-alive ones,
        # so a client that keeps its pool open could hold up shutdown until the idle timeout.
        self.server.block_on_close = False
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name="emulator-http", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        if self._writer is not None:
            self._writer.start()
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._writer is not None:
            self._writer.close()

    def start_line(self) -> dict[str, Any]:
        """The contract's start-up JSON line (as a dict)."""
        base = self.base_url
        credentials = self.services.credentials
        return {
            "pid": os.getpid(),
            "port": self.port,
            "admin_url": f"{base}/_admin",
            "dialect": self.services.dialect.name,
            "ct": {
                "auth_url": f"{base}/ct-id",
                "api_url": f"{base}/ct-api/api/v1",
                "client_id": credentials.ct_client_id,
                "client_secret": credentials.ct_client_secret,
                # The seed's token on a fresh start; after a restart from a state file, the newest still valid.
                "refresh_token": self.services.state.ct_tokens.newest_refresh_token(),
                "redirect_uri": credentials.ct_redirect_uri,
            },
            "cthings": {
                "auth_url": f"{base}/cthings-auth/token",
                "api_url": f"{base}/cthings-api",
                "client_id": credentials.cthings_client_id,
                "client_secret": credentials.cthings_client_secret,
            },
        }
