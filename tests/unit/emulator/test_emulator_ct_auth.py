"""CT authorization server: authorize redirect, both grants, rotation, errors."""

from __future__ import annotations

import base64
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from ctcloud_emulator.credentials import Credentials
from ctcloud_emulator.ct_tokens import CtTokenRegistry

DOORKEEPER_TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "created_at"}


def authorize(emu, **overrides):
    params = {"client_id": emu.ct["client_id"], "response_type": "code", "redirect_uri": emu.ct["redirect_uri"], **overrides}
    return emu.session.get(f"{emu.ct['auth_url']}/oauth/authorize", params=params, allow_redirects=False)


def issued_code(emu) -> str:
    response = authorize(emu)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == emu.ct["redirect_uri"]
    return parse_qs(location.query)["code"][0]


def exchange(emu, code, **overrides):
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": emu.ct["redirect_uri"], **overrides}
    return emu.ct_token_request(**fields)


def test_authorize_redirects_to_the_callback_with_a_code(emu):
    assert len(issued_code(emu)) == 64


def test_authorize_refuses_a_redirect_uri_that_is_not_registered(emu):
    response = authorize(emu, redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert "Location" not in response.headers


def test_authorize_refuses_an_unknown_client(emu):
    response = authorize(emu, client_id="nobody")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_authorize_with_another_response_type_redirects_with_an_error(emu):
    response = authorize(emu, response_type="token")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["unsupported_response_type"]


def test_authorize_returns_the_clients_state_with_the_code_or_the_error(emu):
    for overrides, key in (({}, "code"), ({"response_type": "token"}, "error")):
        response = authorize(emu, state="opaque/state value+1", **overrides)
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["state"] == ["opaque/state value+1"] and key in query
    assert "state" not in parse_qs(urlsplit(authorize(emu).headers["Location"]).query)


def pkce_pair() -> tuple[str, str]:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    return verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_code_issued_with_an_s256_challenge_needs_the_matching_verifier(emu):
    verifier, challenge = pkce_pair()
    response = authorize(emu, code_challenge=challenge, code_challenge_method="S256")
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    for wrong in ({}, {"code_verifier": verifier[:-1] + "x"}):
        refused = exchange(emu, code, **wrong)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert exchange(emu, code, code_verifier=verifier).status_code == 200  # a refused verifier did not use the code up


def test_a_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant_as_in_doorkeeper(emu):
    verifier, _challenge = pkce_pair()
    response = exchange(emu, issued_code(emu), code_verifier=verifier)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_an_unknown_challenge_method_redirects_with_invalid_request(emu):
    response = authorize(emu, code_challenge="abc", code_challenge_method="S512", state="s")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["s"] and "code" not in query


def test_code_exchange_returns_doorkeeper_token_response(emu):
    response = exchange(emu, issued_code(emu))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DOORKEEPER_TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert isinstance(body["created_at"], int)
    assert response.headers["Cache-Control"] == "no-store"
    assert emu.ct_get("/ping.json", token=body["access_token"]).json() == {"ping": "pong"}


def test_code_exchange_accepts_multipart_like_the_seeds_curl(emu):
    code = issued_code(emu)
    fields = {"grant_type": "authorization_code", "client_id": emu.ct["client_id"], "client_secret": emu.ct["client_secret"],
              "code": code, "redirect_uri": emu.ct["redirect_uri"]}
    response = emu.session.post(f"{emu.ct['auth_url']}/oauth/token", files={key: (None, value) for key, value in fields.items()})
    assert response.status_code == 200, response.text


def test_code_is_single_use(emu):
    code = issued_code(emu)
    assert exchange(emu, code).status_code == 200
    second = exchange(emu, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_code_exchange_with_a_different_redirect_uri_is_invalid_grant_and_keeps_the_code(emu):
    code = issued_code(emu)
    mismatch = exchange(emu, code, redirect_uri="https://localhost/other")
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_grant"
    assert exchange(emu, code).status_code == 200


def test_unknown_code_is_invalid_grant(emu):
    response = exchange(emu, "0" * 64)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("credentials", [
    {"client_secret": "wrong"},
    {"client_id": "unknown-client"},
    {"client_secret": None},
])
def test_bad_client_credentials_are_invalid_client_401(emu, credentials):
    response = emu.ct_token_request(grant_type="refresh_token", refresh_token=emu.refresh_token, **credentials)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"]


def test_client_credentials_may_be_sent_as_basic_auth(emu):
    basic = base64.b64encode(f"{emu.ct['client_id']}:{emu.ct['client_secret']}".encode()).decode()
    response = emu.session.post(f"{emu.ct['auth_url']}/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                data={"grant_type": "refresh_token", "refresh_token": emu.refresh_token})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("header", ["Basic not-base64!!", "Basic " + base64.b64encode(b"no-colon-here").decode()])
def test_a_malformed_basic_header_authenticates_nobody_even_with_good_form_credentials(emu, header):
    response = emu.session.post(f"{emu.ct['auth_url']}/oauth/token", headers={"Authorization": header},
                                data={"grant_type": "refresh_token", "refresh_token": emu.refresh_token,
                                      "client_id": emu.ct["client_id"], "client_secret": emu.ct["client_secret"]})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_unknown_grant_type_is_unsupported_grant_type(emu):
    response = emu.ct_token_request(grant_type="password")
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(emu):
    response = emu.ct_token_request()
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_refresh_without_refresh_token_is_invalid_request(emu):
    response = emu.ct_token_request(grant_type="refresh_token")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_every_refresh_returns_a_new_refresh_token(emu):
    first = emu.ct_refresh(emu.refresh_token).json()
    assert first["refresh_token"] != emu.refresh_token
    second = emu.ct_refresh(first["refresh_token"]).json()
    assert second["refresh_token"] not in (first["refresh_token"], emu.refresh_token)


def test_on_use_rotation_keeps_the_old_refresh_token_until_the_new_access_token_is_used(emu):
    old_refresh = emu.refresh_token
    new = emu.ct_refresh(old_refresh).json()
    # A lost answer: the old refresh token still works, and again.
    retry = emu.ct_refresh(old_refresh)
    assert retry.status_code == 200
    assert emu.ct_get("/ping.json", token=new["access_token"]).status_code == 200
    reuse = emu.ct_refresh(old_refresh)
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    # The token from the retried refresh is a separate, still valid grant.
    assert emu.ct_refresh(retry.json()["refresh_token"]).status_code == 200


def test_on_use_rotation_revokes_the_old_access_token_with_the_old_refresh_token(emu):
    first = emu.ct_refresh(emu.refresh_token).json()
    assert emu.ct_get("/ping.json", token=first["access_token"]).status_code == 200
    second = emu.ct_refresh(first["refresh_token"]).json()
    assert emu.ct_get("/ping.json", token=first["access_token"]).status_code == 200  # new one not used yet
    assert emu.ct_get("/ping.json", token=second["access_token"]).status_code == 200
    assert emu.ct_get("/ping.json", token=first["access_token"]).status_code == 401


def test_strict_rotation_revokes_the_old_refresh_token_at_refresh_time(emu):
    emu.configure(ct_rotation="strict")
    old_refresh = emu.refresh_token
    new = emu.ct_refresh(old_refresh)
    assert new.status_code == 200
    reuse = emu.ct_refresh(old_refresh)
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    assert emu.ct_refresh(new.json()["refresh_token"]).status_code == 200


def test_access_token_lifetime_follows_the_knob(emu):
    emu.configure(ct_access_ttl=60)
    assert emu.ct_refresh(emu.refresh_token).json()["expires_in"] == 60


def test_token_requests_and_errors_are_counted_by_grant_and_error(emu):
    exchange(emu, issued_code(emu))
    emu.ct_refresh(emu.refresh_token)
    emu.ct_refresh("no-such-token")
    emu.ct_token_request(grant_type="password")
    emu.ct_token_request(grant_type="refresh_token", refresh_token="x", client_secret="wrong")
    stats = emu.stats()
    assert stats["token_requests"]["ct"] == {"authorization_code": 1, "refresh_token": 3}
    assert stats["token_errors"] == {"invalid_client": 1, "invalid_grant": 1, "unsupported_grant_type": 1}
    assert stats["hosts"]["ct_auth"] == 6  # the authorize redirect counts as a request to the auth host


def test_unknown_auth_path_is_404(emu):
    assert emu.session.get(f"{emu.ct['auth_url']}/oauth/nothing").status_code == 404


def test_code_expires_after_ten_minutes():
    registry = CtTokenRegistry(Credentials.from_seed(1), threading.RLock(), lambda: None)
    redirect_uri = "https://localhost/callback"
    late = registry.issue_code("client", redirect_uri, now=1_000.0)
    assert registry.redeem_code(late, "client", redirect_uri, 60, now=1_000.0 + 600) is None
    in_time = registry.issue_code("client", redirect_uri, now=1_000.0)
    assert registry.redeem_code(in_time, "client", redirect_uri, 60, now=1_000.0 + 599) is not None
