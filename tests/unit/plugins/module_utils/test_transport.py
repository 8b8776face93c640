# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retry policy and error reporting, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import transport
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import Transport
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import Scripted

PATH = "/plain/thing"
HTML = {"Content-Type": "text/html"}


def url(fake):
    return fake.base + PATH


def test_retry_after_is_honoured_before_the_retry(fake):
    fake.state.script("GET", PATH, Scripted(429, {"message": "slow down"}, {"Retry-After": "1"}), Scripted(200, {"ok": True}))
    started = time.monotonic()
    reply = Transport(timeout=5).request("GET", url(fake))
    assert reply.data == {"ok": True}
    assert fake.state.count("GET", PATH) == 2
    assert time.monotonic() - started >= 0.95


def test_get_is_retried_through_transient_5xx(fake):
    fake.state.script("GET", PATH, Scripted(503), Scripted(502), Scripted(504), Scripted(200, {"ok": 1}))
    assert Transport(timeout=5).request("GET", url(fake)).data == {"ok": 1}
    assert fake.state.count("GET", PATH) == 4


def test_post_is_never_resent_after_a_503(fake):
    fake.state.script("POST", PATH, Scripted(503, {"message": "busy"}), Scripted(201, {"id": "1"}))
    with pytest.raises(ApiError) as caught:
        Transport(timeout=5).request("POST", url(fake), json_body={"location": {}})
    assert caught.value.status == 503
    assert fake.state.count("POST", PATH) == 1


def test_post_is_never_resent_after_a_read_timeout(fake):
    fake.state.script("POST", PATH, Scripted(201, {"id": "1"}, stall=1.5))
    with pytest.raises(ApiError, match=r"no reply within the timeout of 0\.3 seconds") as caught:
        Transport(timeout=0.3).request("POST", url(fake), json_body={"voucher": {}})
    assert caught.value.status is None
    time.sleep(1.6)  # a resend would have arrived by now
    assert fake.state.count("POST", PATH) == 1


def test_post_is_retried_after_a_429_because_nothing_was_processed(fake):
    fake.state.script("POST", PATH, Scripted(429, None, {"Retry-After": "0"}), Scripted(201, {"id": "1"}))
    assert Transport(timeout=5).request("POST", url(fake), json_body={}).data == {"id": "1"}
    assert fake.state.count("POST", PATH) == 2


def test_replay_safe_post_is_retried_after_a_503(fake):
    fake.state.script("POST", PATH, Scripted(503), Scripted(200, {"access_token": "x"}))
    assert Transport(timeout=5).request("POST", url(fake), form={"a": "b"}, replay_safe=True).data == {"access_token": "x"}
    assert fake.state.count("POST", PATH) == 2


def test_get_gives_up_after_bounded_attempts_with_the_last_status(fake):
    fake.state.script("GET", PATH, Scripted(503, {"message": "down for maintenance"}))
    with pytest.raises(ApiError, match="down for maintenance") as caught:
        Transport(timeout=5).request("GET", url(fake))
    assert caught.value.status == 503
    assert fake.state.count("GET", PATH) == 9  # the first try and eight retries


def test_retry_after_is_capped(fake, monkeypatch):
    from ansible_collections.ctcloud.cloud.plugins.module_utils._api import transport

    monkeypatch.setattr(transport, "RETRY_AFTER_CAP", 0.2)
    fake.state.script("GET", PATH, Scripted(429, None, {"Retry-After": "3600"}), Scripted(200, {}))
    started = time.monotonic()
    Transport(timeout=5).request("GET", url(fake))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Scripted(200, raw=b"<html><body>Bad gateway</body></html>", headers=HTML), "expected a JSON reply, got content type 'text/html'"),
        (Scripted(200, raw=b'{"locations": [{"id": "1"', headers={"Content-Type": "application/json"}), "not valid JSON"),
        (Scripted(500, raw=b"<html>Internal Server Error</html>", headers=HTML), "500 Internal Server Error (a text/html body of 34 bytes, not JSON)"),
    ],
)
def test_malformed_replies_become_one_clear_error(fake, reply, expected):
    fake.state.script("GET", PATH, reply)
    with pytest.raises(ApiError) as caught:
        Transport(timeout=5).request("GET", url(fake))
    assert expected in caught.value.message
    text = str(caught.value)
    assert text.startswith(f"GET {url(fake)} failed (HTTP {reply.status})")


def test_connection_refused_names_method_and_url_without_pool_noise():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    target = f"http://127.0.0.1:{port}/x"
    with pytest.raises(ApiError) as caught:
        Transport(timeout=2).request("POST", target, json_body={})
    text = str(caught.value)
    assert text.startswith(f"POST {target} failed (no HTTP response): connection failed:")
    assert "refused" in text.lower()
    assert "HTTPConnectionPool" not in text


def test_userinfo_in_a_url_is_never_shown(fake):
    fake.state.script("GET", PATH, Scripted(404, {"message": "nope"}))
    with pytest.raises(ApiError) as caught:
        Transport(timeout=5).request("GET", fake.base.replace("http://", "http://user:pa55word@") + PATH)
    assert "pa55word" not in str(caught.value)
    assert "pa55word" not in repr(caught.value.to_failure())


def test_a_get_timing_out_on_every_retry_says_so_without_pool_noise(fake, monkeypatch):
    """urllib3 retries a read timeout of a GET; when every attempt times out, requests raises ConnectionError, not Timeout."""
    monkeypatch.setattr(transport, "RETRY_ATTEMPTS", 1)
    fake.state.script("GET", PATH, Scripted(200, {"late": True}, stall=1.0))
    with pytest.raises(ApiError) as caught:
        Transport(timeout=0.3).request("GET", url(fake))
    text = str(caught.value)
    assert text == f"GET {url(fake)} failed (no HTTP response): no reply within the timeout of 0.3 seconds"
    assert fake.state.count("GET", PATH) == 2


def test_an_unreachable_host_fails_after_a_few_connect_retries_not_the_whole_budget(monkeypatch):
    from ansible_collections.ctcloud.cloud.plugins.module_utils._api import transport

    monkeypatch.setattr(transport, "BACKOFF_FACTOR", 0.25)  # the real backoff, to bound the real wait
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ApiError, match="connection failed"):
        Transport(timeout=2).request("GET", f"http://127.0.0.1:{port}/x")
    assert time.monotonic() - started < 10  # eight retries with backoff would take ~36 s


def test_validate_certs_false_is_sent_with_every_request_so_a_ca_bundle_variable_cannot_override_it(monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE override a session's verify=False; a per-request verify wins."""
    requests = pytest.importorskip("requests")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    sent = {}

    def fake_request(session, method, url, **kwargs):
        sent.update(kwargs)
        settings = session.merge_environment_settings(url, {}, None, kwargs.get("verify"), None)
        sent["effective_verify"] = settings["verify"]
        raise requests.exceptions.ConnectionError("stop here")

    monkeypatch.setattr(requests.Session, "request", fake_request)
    with pytest.raises(ApiError):
        Transport(timeout=1, validate_certs=False).request("GET", "https://127.0.0.1:9/x")
    assert sent["verify"] is False and sent["effective_verify"] is False


@pytest.mark.parametrize("replay_safe", [True, False])
def test_a_certificate_that_failed_verification_is_not_retried(replay_safe):
    urllib3_exceptions = pytest.importorskip("urllib3.exceptions")
    import ssl  # pylint: disable=import-outside-toplevel

    refused = urllib3_exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate"))
    with pytest.raises(urllib3_exceptions.MaxRetryError):
        transport.build_retry(replay_safe).increment("GET", "/x", error=refused)
    # Other TLS trouble (a handshake cut short) may be transient: still retried like before.
    assert transport.build_retry(True).increment("GET", "/x", error=urllib3_exceptions.SSLError("EOF occurred in violation of protocol")).total == 7


def test_a_stalled_get_is_tried_three_times_not_nine(fake):
    fake.state.script("GET", PATH, Scripted(200, {"ok": True}, stall=1.0))
    with pytest.raises(ApiError, match="no reply within the timeout"):
        Transport(timeout=0.2).request("GET", url(fake))
    time.sleep(1.1)
    assert fake.state.count("GET", PATH) == 3


def test_a_connection_reset_is_described_by_its_cause_not_by_its_wrappers():
    from urllib3.exceptions import ProtocolError

    from ansible_collections.ctcloud.cloud.plugins.module_utils._api.transport import _innermost_reason

    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    assert _innermost_reason(reset) == "[Errno 104] Connection reset by peer"


def test_a_header_http_forbids_fails_with_a_fixed_message_and_sends_nothing(fake):
    """requests quotes the bad header with repr(): a newline becomes \\n, which redaction of the raw secret never matches."""
    fake.state.script("GET", PATH, Scripted(200, {"ok": True}))
    secret_halves = ("first-half-of-the-token", "second-half-of-the-token")
    with pytest.raises(ApiError) as caught:
        Transport(timeout=5).request("GET", url(fake), headers={"Authorization": "Bearer {}\n{}".format(*secret_halves)})
    assert "whitespace or control characters" in str(caught.value) and "nothing was sent" in str(caught.value)
    assert not any(half in str(caught.value) or half in repr(caught.value.to_failure()) for half in secret_halves)
    assert fake.state.count("GET", PATH) == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_so_the_token_stays_with_the_url_it_was_sent_to(fake, status):
    fake.state.script("GET", PATH, Scripted(status, {"message": "moved"}, {"Location": fake.base + "/elsewhere"}))
    fake.state.script("GET", "/elsewhere", Scripted(200, {"ok": True}))
    with pytest.raises(ApiError) as caught:
        Transport(timeout=5).request("GET", url(fake), headers={"Authorization": "Bearer not-for-elsewhere"})
    assert caught.value.status == status
    assert fake.state.count("GET", "/elsewhere") == 0
