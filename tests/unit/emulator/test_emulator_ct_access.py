"""CT API authentication: 401 shapes, expiry by TTL, "expires without notice" revocations."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "bearer  "])
def test_missing_or_unknown_token_is_401_with_a_message(emu, header):
    headers = {"Authorization": header} if header is not None else {}
    response = emu.session.get(f"{emu.ct['api_url']}/locations", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_ping_and_me_answer_with_a_valid_token(emu):
    assert emu.ct_json("GET", "/ping.json") == {"ping": "pong"}
    me = emu.ct_json("GET", "/me.json")
    assert set(me) == {"id", "username", "email"}
    assert isinstance(me["id"], int)


def test_access_token_expires_after_its_ttl(emu):
    emu.configure(ct_access_ttl=1)
    token = emu.ct_login()
    assert emu.ct_get("/ping.json", token=token).status_code == 200
    time.sleep(1.1)
    expired = emu.ct_get("/ping.json", token=token)
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]
    assert emu.ct_get("/ping.json", token=emu.ct_login()).status_code == 200


def test_revoke_every_answers_every_nth_request_with_401_and_the_refresh_token_survives(emu):
    token = emu.ct_login()
    emu.configure(revoke_every=3)
    statuses = [emu.ct_get("/ping.json", token=token).status_code for _repeat in range(3)]
    assert statuses == [200, 200, 401]
    fresh = emu.ct_login()
    assert [emu.ct_get("/ping.json", token=fresh).status_code for _repeat in range(3)] == [200, 200, 401]
    assert emu.ct_get("/ping.json", token=token).status_code == 401  # the first token stays revoked
    assert emu.stats()["revocations"] == 2


def test_revoke_every_does_not_count_auth_host_requests(emu):
    emu.configure(revoke_every=2)
    token = emu.ct_login()
    emu.ct_login()  # auth host: not a CT API request
    assert emu.ct_get("/ping.json", token=token).status_code == 200


def test_admin_revoke_kills_access_tokens_but_not_refresh_tokens(emu):
    token = emu.ct_login()
    assert emu.admin("POST", "ct/revoke")["revoked"] >= 1
    response = emu.ct_get("/ping.json", token=token)
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]
    assert emu.ct_get("/ping.json", token=emu.ct_login()).status_code == 200


def test_unknown_api_path_is_404_before_authentication(emu):
    response = emu.session.get(f"{emu.ct['api_url']}/nothing/here")
    assert response.status_code == 404
    assert set(response.json()) == {"message"}
