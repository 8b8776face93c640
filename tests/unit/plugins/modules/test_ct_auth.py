# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ct_auth: the authorize URL, https-only redirect URIs, the code exchange into the token store, no token in the result."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils.ct import CtClient
from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.modules import ct_auth
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import CT_CLIENT, FakeServer
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

REDIRECT = "https://example.com/ct/callback?team=a%2Fb&x=1"


@pytest.fixture(autouse=True)
def private_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CTCLOUD_TOKEN_STORE", str(tmp_path / "default-store.json"))


def run(capsys, **args: Any) -> dict[str, Any]:
    return run_main(ct_auth.main, capsys, args)


def test_the_authorize_url_is_url_encoded(capsys):
    result = run(capsys, client_id="app id/1&x", redirect_uri=REDIRECT, auth_url="https://id.example.com/")
    assert result["changed"] is False
    url = urlsplit(result["authorize_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "id.example.com", "/oauth/authorize")
    assert "redirect_uri=https%3A%2F%2Fexample.com%2Fct%2Fcallback%3Fteam%3Da%252Fb%26x%3D1&" in url.query
    assert parse_qs(url.query) == {"client_id": ["app id/1&x"], "redirect_uri": [REDIRECT], "response_type": ["code"]}
    assert "token_store" not in result and "expires_at" not in result


def test_the_url_needs_no_secret_and_sends_nothing(capsys):
    result = run(capsys, client_id="app", redirect_uri="https://localhost/callback", auth_url="http://127.0.0.1:9/ct-id")
    expected = "http://127.0.0.1:9/ct-id/oauth/authorize?client_id=app&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback&response_type=code"
    assert result["authorize_url"] == expected


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
    result = run(capsys, client_id="app", redirect_uri="https://localhost/callback", code="abc")
    assert result["failed"] is True and "client_secret is required" in result["msg"]


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("abc123", "abc123"),
        ("  abc123 ", "abc123"),
        ("https://localhost/callback?code=abc123", "abc123"),
        ("https://LOCALHOST/callback?state=1&code=abc123", "abc123"),
    ],
)
def test_the_code_or_the_whole_redirected_url(given, code):
    assert ct_auth.authorization_code(given, "https://localhost/callback") == code


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("https://localhost/callback?error=access_denied&error_description=The+user+said+no", "CT did not authorize: access_denied: The user said no"),
        ("https://elsewhere.example/callback?code=abc", "not one under redirect_uri"),
        ("https://localhost/callback?state=1", "without a code parameter"),
        ("two words", "code must be the code query parameter"),
    ],
)
def test_bad_codes_are_explained(given, message):
    with pytest.raises(InputError, match=message):
        ct_auth.authorization_code(given, "https://localhost/callback")


def test_check_mode_does_not_use_the_code_up(capsys, tmp_path):
    with FakeServer() as fake:
        store = tmp_path / "tokens.json"
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     redirect_uri="https://localhost/callback", code="good-code", token_store=str(store), _ansible_check_mode=True)
        assert result["changed"] is True
        assert result["token_store"] == str(store)
        assert "expires_at" not in result
        assert fake.state.token_requests["authorization_code"] == 0
        assert not store.exists()


def test_the_exchange_stores_the_tokens_and_returns_none_of_them(capsys, tmp_path):
    with FakeServer() as fake:
        store = tmp_path / "fresh" / "tokens.json"
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     api_url=fake.urls["ct_api_url"], refresh_token="ignored-refresh-token-value", redirect_uri="https://localhost/callback",
                     code="https://localhost/callback?code=good-code", token_store=str(store))
        assert result["changed"] is True
        assert result["token_store"] == str(store)
        assert isinstance(result["expires_at"], int)
        assert fake.state.token_requests == {"refresh_token": 0, "authorization_code": 1, "client_credentials": 0}
        entries = json.loads(store.read_text())["entries"]
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
        result = run(capsys, client_id=CT_CLIENT[0], client_secret=CT_CLIENT[1], auth_url=fake.urls["ct_auth_url"],
                     redirect_uri="https://localhost/callback", code="used-code", token_store=str(tmp_path / "t.json"))
        assert result["failed"] is True
        assert "CT rejected the authorization code (invalid_grant)" in result["msg"]
        assert CT_CLIENT[1] not in json.dumps(result)
        assert fake.state.token_requests["authorization_code"] == 1  # never retried
