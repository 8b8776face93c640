# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ct_auth: the authorize URL, https-only redirect URIs, the code exchange into the token store, no token in the result."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import CtClient, digest
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.modules import ct_auth
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import CT_CLIENT, FakeServer
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

REDIRECT = "https://example.com/ct/callback?team=a%2Fb&x=1"


@pytest.fixture(autouse=True)
def private_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CTCLOUD_TOKEN_STORE", str(tmp_path / "default-store.json"))


def run(capsys, **args: Any) -> dict[str, Any]:
    return run_main(ct_auth.main, capsys, args)


def test_the_authorize_url_is_url_encoded_and_carries_a_recorded_state(capsys, tmp_path):
    store = tmp_path / "tokens.json"
    result = run(capsys, client_id="app id/1&x", redirect_uri=REDIRECT, auth_url="https://id.example.com/", token_store=str(store))
    assert result["changed"] is True  # the state is recorded in the store
    url = urlsplit(result["authorize_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "id.example.com", "/oauth/authorize")
    assert "redirect_uri=https%3A%2F%2Fexample.com%2Fct%2Fcallback%3Fteam%3Da%252Fb%26x%3D1&" in url.query
    assert parse_qs(url.query) == {"client_id": ["app id/1&x"], "redirect_uri": [REDIRECT], "response_type": ["code"], "state": [result["state"]]}
    assert len(result["state"]) >= 40 and result["token_store"] == str(store) and "expires_at" not in result
    assert run(capsys, client_id="app", redirect_uri=REDIRECT, token_store=str(store))["state"] != result["state"]
    pending = json.loads(store.read_text())["entries"]["ct-authorize|https://id.example.com|app id/1&x"]["pending"]
    assert list(pending) == [digest(result["state"])]  # the digest, not the state itself


def test_the_url_needs_no_secret_and_sends_nothing(capsys):
    result = run(capsys, client_id="app", redirect_uri="https://localhost/callback", auth_url="http://127.0.0.1:9/ct-id")
    expected = "http://127.0.0.1:9/ct-id/oauth/authorize?client_id=app&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&response_type=code&state="
    assert result["authorize_url"] == expected + result["state"]


def test_pkce_puts_the_s256_challenge_in_the_url_and_keeps_the_verifier_in_the_store(capsys, tmp_path):
    store = tmp_path / "tokens.json"
    result = run(capsys, client_id="app", redirect_uri=REDIRECT, pkce=True, token_store=str(store))
    query = parse_qs(urlsplit(result["authorize_url"]).query)
    pending = next(iter(json.loads(store.read_text())["entries"].values()))["pending"][digest(result["state"])]
    verifier = pending["code_verifier"]
    assert 43 <= len(verifier) <= 128
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")]
    assert verifier not in json.dumps(result)


def test_step_one_in_check_mode_records_nothing(capsys, tmp_path):
    store = tmp_path / "tokens.json"
    result = run(capsys, client_id="app", redirect_uri=REDIRECT, token_store=str(store), _ansible_check_mode=True)
    assert result["changed"] is True and result["state"] in result["authorize_url"]
    assert not store.exists()


@pytest.mark.parametrize(
    ("redirect_uri", "message"),
    [
        ("http://example.com/callback", "redirect_uri must be an https URL"),
        ("example.com/callback", "redirect_uri must be an https URL"),
        ("https:///callback", "redirect_uri must be an https URL"),
        ("https://exa mple.com/cb", "redirect_uri must be an https URL"),
        ("https://example.com/cb#done", "must not contain a fragment"),
        ("  ", "redirect_uri must not be empty"),
    ],
)
def test_redirect_uri_must_be_https_without_fragment(capsys, redirect_uri, message):
    result = run(capsys, client_id="app", redirect_uri=redirect_uri)
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["failure"]["details"]["field"] == "redirect_uri"


def test_client_id_is_required(capsys):
    result = run(capsys, redirect_uri="https://localhost/callback")
    assert result["failed"] is True and "client_id is required" in result["msg"]


def test_a_code_needs_the_client_secret(capsys):
    result = run(capsys, client_id="app", redirect_uri="https://localhost/callback", code="abc", state="s1")
    assert result["failed"] is True and "client_secret is required" in result["msg"]


@pytest.mark.parametrize(
    ("given", "state", "expected"),
    [
        ("abc123", "s1", ("abc123", "s1")),
        ("  abc123 ", "s1", ("abc123", "s1")),
        ("https://localhost/callback?code=abc123&state=s1", None, ("abc123", "s1")),
        ("https://LOCALHOST/callback?state=s1&code=abc123", "s1", ("abc123", "s1")),
        ("https://localhost/callback?code=abc123", "s1", ("abc123", "s1")),  # a server that does not echo the state
    ],
)
def test_the_code_and_state_or_the_whole_redirected_url(given, state, expected):
    assert ct_auth.authorization_code(given, "https://localhost/callback", state) == expected


@pytest.mark.parametrize(
    ("given", "state", "message"),
    [
        ("https://localhost/callback?error=access_denied&error_description=The+user+said+no", None, "CT did not authorize: access_denied: The user said no"),
        ("https://elsewhere.example/callback?code=abc&state=s1", None, "not one under redirect_uri"),
        ("https://localhost/callback?state=1", None, "without a code parameter"),
        ("two words", "s1", "code must be the code query parameter"),
        ("abc123", None, "state is required with a bare code"),
        ("https://localhost/callback?code=abc123", None, "carries no state"),
        ("https://localhost/callback?code=abc123&state=theirs", "mine", "belongs to another authorization"),
    ],
)
def test_bad_codes_and_states_are_explained(given, state, message):
    with pytest.raises(InputError, match=message):
        ct_auth.authorization_code(given, "https://localhost/callback", state)


def begin(capsys, fake, store, **extra):
    """Step 1 against the fake's auth server: the state it recorded in ``store``."""
    result = run(capsys, client_id=CT_CLIENT[0], auth_url=fake.urls["ct_auth_url"], redirect_uri="https://localhost/callback",
                 token_store=str(store), **extra)
    return result["state"]


def test_a_code_with_a_state_step_one_did_not_record_is_refused_before_anything_is_sent(capsys, tmp_path):
    with FakeServer() as fake:
        store = tmp_path / "tokens.json"
        begin(capsys, fake, store)
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     redirect_uri="https://localhost/callback", code="https://localhost/callback?code=good-code&state=the-attackers",
                     token_store=str(store))
        assert result["failed"] is True and "state does not match an authorization started by step 1" in result["msg"]
        assert result["failure"]["details"]["field"] == "state"
        assert fake.state.token_requests["authorization_code"] == 0


def test_check_mode_does_not_use_the_code_up(capsys, tmp_path):
    with FakeServer() as fake:
        store = tmp_path / "tokens.json"
        state = begin(capsys, fake, store)
        recorded = store.read_text()
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     redirect_uri="https://localhost/callback", code="good-code", state=state, token_store=str(store), _ansible_check_mode=True)
        assert result["changed"] is True
        assert result["token_store"] == str(store)
        assert "expires_at" not in result
        assert fake.state.token_requests["authorization_code"] == 0
        assert store.read_text() == recorded


def test_the_exchange_stores_the_tokens_uses_the_state_up_and_returns_no_token(capsys, tmp_path):
    with FakeServer() as fake:
        store = tmp_path / "fresh" / "tokens.json"
        state = begin(capsys, fake, store)
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     api_url=fake.urls["ct_api_url"], refresh_token="ignored-refresh-token-value", redirect_uri="https://localhost/callback",
                     code=f"https://localhost/callback?code=good-code&state={state}", token_store=str(store))
        assert result["changed"] is True
        assert result["token_store"] == str(store)
        assert isinstance(result["expires_at"], int)
        assert fake.state.token_requests == {"refresh_token": 0, "authorization_code": 1, "client_credentials": 0}
        entries = json.loads(store.read_text())["entries"]
        assert entries.pop(f"ct-authorize|{fake.urls['ct_auth_url']}|{CT_CLIENT[0]}") == {"pending": {}}  # the state is used up
        entry = dict(entries[min(entries, key=len)], **entries[max(entries, key=len)])  # the chain, and the access token for api_url
        assert "SECRET" not in json.dumps(result)
        assert entry["refresh_token"] not in json.dumps(result)
        # A client without a refresh token continues from the stored chain.
        client = CtClient.build(api_url=fake.urls["ct_api_url"], auth_url=fake.urls["ct_auth_url"], client_id=CT_CLIENT[0],
                                client_secret=CT_CLIENT[1], token_store=str(store))
        assert client.auth.token() == entry["access_token"]
        client.close()


def test_a_used_code_fails_with_the_reason_and_no_secret(capsys, tmp_path):
    with FakeServer() as fake:
        fake.state.codes["used-code"] = True
        store = tmp_path / "t.json"
        state = begin(capsys, fake, store)
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     redirect_uri="https://localhost/callback", code="used-code", state=state, token_store=str(store))
        assert result["failed"] is True
        assert "CT rejected the authorization code (invalid_grant)" in result["msg"]
        assert CT_CLIENT[1] not in json.dumps(result)
        assert fake.state.token_requests["authorization_code"] == 1  # never retried
