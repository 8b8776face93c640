"""cThings AuthServer: strict Basic client auth, multipart and url-encoded bodies, scope, JWT tokens, expiry."""

from __future__ import annotations

import base64
import json
import time

import pytest

MULTIPART = {"grant_type": (None, "client_credentials"), "scope": (None, "api")}


def decode_segment(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_multipart_token_request_returns_the_seeds_response(emu):
    response = emu.cthings_token_request(files=MULTIPART)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert (body["expires_in"], body["scope"], body["token_type"]) == (3600, ["api"], "Bearer")


def test_url_encoded_token_request_is_accepted_too(emu):
    response = emu.cthings_token_request(data={"grant_type": "client_credentials", "scope": "api"})
    assert response.status_code == 200, response.text


def test_access_token_is_an_hs256_jwt_with_expiry(emu):
    before = int(time.time())
    header, claims, signature = emu.cthings_token().split(".")
    assert decode_segment(header) == {"alg": "HS256", "typ": "JWT"}
    payload = decode_segment(claims)
    assert payload["sub"] == emu.cthings["client_id"]
    assert payload["iss"] == "authserver.cthings.cloud"
    assert before <= payload["iat"] and payload["exp"] >= payload["iat"] + 3600
    assert signature


@pytest.mark.parametrize("authorization", [
    None,
    "Basic",
    "Basic not-base64!!",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Bearer something",
])
def test_missing_or_malformed_basic_auth_is_invalid_client(emu, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = emu.session.post(emu.cthings["auth_url"], headers=headers, files=MULTIPART)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_is_invalid_client(emu):
    response = emu.cthings_token_request(auth=(emu.cthings["client_id"], "wrong"), files=MULTIPART)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_credentials_as_form_fields_are_not_accepted(emu):
    fields = {**MULTIPART, "client_id": (None, emu.cthings["client_id"]), "client_secret": (None, emu.cthings["client_secret"])}
    response = emu.cthings_token_request(auth=None, files=fields)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(("fields", "status", "error"), [
    ({"scope": "api"}, 400, "invalid_request"),
    ({"grant_type": "client_credentials"}, 400, "invalid_request"),
    ({"grant_type": "password", "scope": "api"}, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials", "scope": "admin"}, 400, "invalid_scope"),
    ({"grant_type": "client_credentials", "scope": "api admin"}, 400, "invalid_scope"),
])
def test_body_errors_are_oauth2_style_not_the_envelope(emu, fields, status, error):
    response = emu.cthings_token_request(data=fields)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error


def test_token_expires_after_its_ttl(emu):
    emu.configure(cthings_access_ttl=1)
    token = emu.cthings_token()
    assert emu.cthings_get("/v3/device", token=token).status_code == 200
    expires_at = decode_segment(token.split(".")[1])["exp"]
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    expired = emu.cthings_get("/v3/device", token=token)
    assert expired.status_code == 401
    assert expired.json()["code"] == 401


def test_reset_with_tokens_forgets_issued_tokens(emu):
    token = emu.cthings_token()
    emu.admin("POST", "reset", {"data": False, "counters": False, "tokens": True})
    assert emu.cthings_get("/v3/device", token=token).status_code == 401


def test_token_requests_are_counted(emu):
    emu.cthings_token()
    emu.cthings_token_request(auth=None)
    stats = emu.stats()
    assert stats["token_requests"]["cthings"] == {"client_credentials": 2}
    assert stats["token_errors"] == {"invalid_client": 1}
    assert stats["hosts"]["cthings_auth"] == 2
