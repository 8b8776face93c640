# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""HTTP for both clouds: one ``requests.Session``, timeouts, TLS, retries, one error type.

The retry policy is urllib3's ``Retry`` (backoff with jitter, ``Retry-After``
honoured and capped). What may be retried depends on whether the request may be
*replayed*:

- replay-safe requests (GET, PATCH of field values, DELETE, token grants that
  create nothing) are retried on 429, 502, 503, 504, on connection errors and on
  read errors;
- anything else (a POST that creates a voucher batch or a location) is retried
  only when the server provably did not process it: a 429, or a connection that
  never opened. Never after a 5xx or a read timeout: the object may exist, and
  the modules converge by re-reading instead.

The transport knows nothing about CT or cThings: each client passes a function
that turns an error body into a sentence.
"""

from __future__ import annotations

import json
import socket
import ssl
import traceback
from typing import Any, Callable, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

USER_AGENT = "ctcloud.cloud-ansible-collection/0.1.0"
TRANSIENT_STATUSES = frozenset((429, 502, 503, 504))
RETRY_ATTEMPTS = 8
# A refused or unreachable host is rarely a blip: give up after ~2 s instead of the whole budget.
CONNECT_RETRIES = 3
# A server that stalls past `timeout` costs a whole timeout per attempt: two more tries, not eight.
READ_RETRIES = 2
BACKOFF_FACTOR = 0.25
BACKOFF_MAX = 10.0
BACKOFF_JITTER = 0.25
RETRY_AFTER_CAP = 60.0  # a server asking for more is treated as asking for a minute
REPLAY_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"))
# Requests a client keeps in flight at once (pages, per-device reads). Here, at the bottom of the API layer,
# because both the OAuth client base and pagination take it: neither should reach sideways into the other.
DEFAULT_WORKERS = 4

# describe_error(status, parsed_json_or_None, text) -> a sentence for the user
ErrorDescriber = Callable[[int, Any, str], str]


def _capped_retry_class():
    # Defined lazily: urllib3 is importable only when requests is.
    class CappedRetry(Retry):
        def get_retry_after(self, response):
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, RETRY_AFTER_CAP)

        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            # urllib3 retries TLS errors as "other" errors; a certificate that failed verification
            # does not become trusted by asking again, so give up at once.
            if error is not None and any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(error)):
                raise MaxRetryError(_pool, url, error) from error
            return super().increment(method, url, response, error, _pool, _stacktrace)

    class NoReplayRetry(CappedRetry):
        """Retry only what the server did not process: 429 here, unopened connections in urllib3."""

        def _is_method_retryable(self, method):
            # urllib3 consults this before retrying a read error; an empty allowed_methods
            # would mean "every method" there, so the answer is spelled out.
            return False

        def is_retry(self, method, status_code, has_retry_after=False):
            return bool(self.total) and status_code == 429

    return CappedRetry, NoReplayRetry


def build_retry(replay_safe: bool):
    capped, no_replay = _capped_retry_class()
    common = {
        "total": RETRY_ATTEMPTS,
        "connect": CONNECT_RETRIES,
        "read": READ_RETRIES,
        "backoff_factor": BACKOFF_FACTOR,
        "backoff_max": BACKOFF_MAX,
        "backoff_jitter": BACKOFF_JITTER,
        "respect_retry_after_header": True,
        "raise_on_status": False,  # hand back the last response: its body names the problem
        "raise_on_redirect": False,
    }
    if replay_safe:
        return capped(status_forcelist=TRANSIENT_STATUSES, allowed_methods=None, **common)
    return no_replay(status_forcelist=frozenset((429,)), **common)


class Reply:
    """A successful HTTP answer with its JSON body already parsed (``None`` when empty)."""

    __slots__ = ("data", "headers", "status", "url")

    def __init__(self, status: int, headers: Mapping[str, str], data: Any, url: str) -> None:
        self.status = status
        self.headers = headers
        self.data = data
        self.url = url


def default_describe_error(status: int, data: Any, text: str) -> str:
    if isinstance(data, dict):
        for key in ("error_description", "message", "error"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    return f"unexpected HTTP {status} reply"


class Transport:
    def __init__(
        self,
        timeout: float = 30.0,
        validate_certs: bool = True,
        describe_error: ErrorDescriber = default_describe_error,
        pool_size: int = 10,
    ) -> None:
        if not HAS_REQUESTS:  # modules check earlier and report missing_required_lib
            raise ApiError("the Python library 'requests' is required")
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.describe_error = describe_error
        self.pool_size = pool_size
        self.request_count = 0
        self._sessions: dict[bool, Any] = {}

    def _session(self, replay_safe: bool):
        session = self._sessions.get(replay_safe)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            session.headers["Accept"] = "application/json"
            session.verify = self.validate_certs
            adapter = HTTPAdapter(max_retries=build_retry(replay_safe), pool_connections=4, pool_maxsize=self.pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._sessions[replay_safe] = session
        return session

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        multipart: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        replay_safe: bool | None = None,
        describe_error: ErrorDescriber | None = None,
    ) -> Reply:
        """Send one request (with the retry policy) and return its parsed 2xx reply, or raise ApiError."""
        method = method.upper()
        if replay_safe is None:
            replay_safe = method in REPLAY_SAFE_METHODS
        files = None
        if multipart is not None:
            files = {name: (None, value) for name, value in multipart.items()}
        self.request_count += 1
        try:
            response = self._session(replay_safe).request(
                method,
                url,
                params=params,
                json=json_body,
                data=form,
                files=files,
                headers=headers,
                auth=auth,
                timeout=self.timeout,
                # Per request, not only on the session: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the
                # environment override a session's verify=False (psf/requests#3829), so validate_certs: false was ignored.
                verify=self.validate_certs,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise ApiError(
                f"TLS certificate verification failed ({_innermost_reason(exc)}); fix the CA trust, or set validate_certs: false "
                "for a test server only",
                method,
                url,
            ) from None
        except requests.exceptions.Timeout:
            raise ApiError(f"no reply within the timeout of {self.timeout} seconds", method, url, retryable=True) from None
        except requests.exceptions.InvalidHeader:
            # requests quotes the header with repr(), which neither redaction nor no_log matches: never show its words.
            raise ApiError(
                "a request header value has whitespace or control characters (a token or secret with a stray newline?); "
                "nothing was sent",
                method,
                url,
            ) from None
        except requests.exceptions.RequestException as exc:
            if _timed_out(exc):  # read timeouts on every retry: requests reports them as a ConnectionError
                raise ApiError(f"no reply within the timeout of {self.timeout} seconds", method, url, retryable=True) from None
            raise ApiError(f"connection failed: {_innermost_reason(exc)}", method, url, retryable=True) from None
        return self._reply(method, url, response, describe_error or self.describe_error)

    def _reply(self, method: str, url: str, response: Any, describe_error: ErrorDescriber) -> Reply:
        status = response.status_code
        text = response.text if response.content else ""
        content_type = response.headers.get("Content-Type", "")
        is_json = "json" in content_type.lower()
        data = None
        parse_error = None
        if text.strip():
            try:
                data = json.loads(text)
            except ValueError:
                parse_error = "the reply is not valid JSON (truncated or not JSON)"
        if 200 <= status < 300:
            if text.strip() and not is_json:
                raise ApiError("expected a JSON reply, got content type %r" % (content_type or "none"), method, url, status)
            if parse_error:
                raise ApiError(parse_error, method, url, status)
            return Reply(status, response.headers, data, url)
        if data is None:
            message = f"{status} {response.reason or 'error'}"
            if text.strip():
                message += f" (a {content_type.split(';')[0] or 'non-JSON'} body of {len(text)} bytes, not JSON)"
        else:
            message = describe_error(status, data, text)
        details = {"body": data} if isinstance(data, (dict, list)) else {}
        raise ApiError(message, method, url, status, details=details, retryable=status in TRANSIENT_STATUSES)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps, outermost first: a ``reason`` attribute, else the first exception among its arguments.

    ProtocolError('Connection aborted.', ConnectionResetError(...)) keeps its cause second.
    """
    chain: list[BaseException] = []
    current: Any = exc
    while isinstance(current, BaseException) and all(current is not seen for seen in chain):
        chain.append(current)
        nested = getattr(current, "reason", None)
        current = nested if isinstance(nested, BaseException) else next((arg for arg in current.args if isinstance(arg, BaseException)), None)
    return chain


def _timed_out(exc: BaseException) -> bool:
    return any(isinstance(cause, (ReadTimeoutError, socket.timeout)) for cause in _causes(exc))


def _innermost_reason(exc: BaseException) -> str:
    """The root cause of a requests/urllib3 error, without the pool and retry wrapping."""
    current = _causes(exc)[-1]
    text = str(current) or current.__class__.__name__
    # urllib3 prefixes '<connection object at 0x...>: '; the address is noise to a user.
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text
