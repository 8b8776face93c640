# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError, InputError


@pytest.mark.parametrize("spelling", ["aa:bb:cc:dd:ee:0f", "AA-BB-CC-DD-EE-0F", "aabb.ccdd.ee0f", "AABBCCDDEE0F", " aa:bb:cc:dd:ee:0f "])
def test_common_mac_spellings_normalise_to_colons(spelling):
    assert validation.mac_address(spelling, "mac") == "AA:BB:CC:DD:EE:0F"


@pytest.mark.parametrize("bad", ["aa:bb:cc:dd:ee", "gg:bb:cc:dd:ee:ff", "aa:bb-cc:dd:ee:ff:00:11", "", None, 12, "aa:bb:cc:dd:ee:ff:00"])
def test_malformed_macs_name_the_field(bad):
    with pytest.raises(InputError, match=r"^mac must be a MAC address") as caught:
        validation.mac_address(bad, "mac")
    assert caught.value.field == "mac"


def test_uuid_is_canonicalised_and_malformed_rejected():
    assert validation.uuid_value("0F8FAD5B-D9CB-469F-A165-70867728950E", "id") == "0f8fad5b-d9cb-469f-a165-70867728950e"
    for bad in ["0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5bd9cb469fa16570867728950e00", "zzzzzzzz-d9cb-469f-a165-70867728950e", 5, None]:
        with pytest.raises(InputError, match="id must be a UUID"):
            validation.uuid_value(bad, "id")


@pytest.mark.parametrize("value, ok", [(90, True), (-90.0, True), (90.0001, False), ("12.5", True), ("north", False), (True, False), (float("nan"), False)])
def test_coordinates_stay_within_range(value, ok):
    if ok:
        assert validation.coordinate(value, "latitude", 90) == float(value)
    else:
        with pytest.raises(InputError, match="latitude"):
            validation.coordinate(value, "latitude", 90)


def test_text_rejects_blank_and_counts_without_surrounding_space():
    assert validation.text("  Café Zürich  ", "name", 5, 100) == "Café Zürich"
    for bad, message in [("   ", "must not be empty or blank"), ("abc", "at least 5"), ("x" * 101, "at most 100"), (5, "must be a string")]:
        with pytest.raises(InputError, match=message):
            validation.text(bad, "name", 5, 100)


def test_ids_and_slugs():
    assert validation.digit_id(1813, "id") == "1813"
    assert validation.id_or_slug("stuff-got-real-iajpng9akeztfqknmlfusw", "location") == "stuff-got-real-iajpng9akeztfqknmlfusw"
    for bad in ["12a", "", True, "../etc", "Has Space"]:
        with pytest.raises(InputError):
            validation.id_or_slug(bad, "location") if bad != "12a" else validation.digit_id(bad, "id")


def test_integer_bounds_and_types():
    assert validation.integer(10, "quantity", 10, 1000) == 10
    for bad in [0, 100000, True, "10", 9.5]:
        with pytest.raises(InputError, match="quantity"):
            validation.integer(bad, "quantity", 10, 1000)


# -- URLs that receive credentials: https, or http to this machine only (issue 12, item 6) --


@pytest.mark.parametrize(
    "url",
    ["https://api.ctapp.io/api/v1", "HTTPS://API.example.com:8443/x", "http://127.0.0.1:4010/ct-api/api/v1", "http://127.9.9.9/x",
     "http://[::1]:8080/", "http://localhost:8080/ct-id", "http://LOCALHOST./x"],
)
def test_https_urls_and_loopback_http_urls_are_accepted(url):
    assert validation.service_url(f"  {url} ", "api_url") == url


@pytest.mark.parametrize(
    "url",
    ["http://api.ctapp.io/api/v1", "http://198.51.100.8/x", "http://192.0.2.2:8080/", "http://127.0.0.1.nip.io/x", "http://[::ffff:198.51.100.1]/",
     "http://localhost.example.com/"],
)
def test_plain_http_to_another_machine_is_refused(url):
    with pytest.raises(InputError, match=r"^api_url must use https: .* would carry tokens and secrets in cleartext") as caught:
        validation.service_url(url, "api_url")
    assert caught.value.field == "api_url"


@pytest.mark.parametrize("url", ["ftp://example.com/", "https://", "example.com/api", "https://exa mple.com/", "https://h:port/", ""])
def test_urls_that_are_not_http_or_https_urls_are_refused(url):
    with pytest.raises(InputError, match=r"^auth_url must"):
        validation.service_url(url, "auth_url")


def test_a_refused_url_is_shown_without_its_userinfo():
    with pytest.raises(InputError) as caught:
        validation.service_url("http://user:hunter2-password@api.example.com/", "api_url")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://api.example.com/api/v1", "HTTPS://API.EXAMPLE.COM:443/other", True),
        ("http://127.0.0.1/x", "http://127.0.0.1:80/y", True),
        ("https://api.example.com/", "http://api.example.com/", False),
        ("https://api.example.com/", "https://api.example.com:8443/", False),
        ("https://api.example.com/", "https://api.example.com.evil.test/", False),
        ("http://127.0.0.1:4010/", "http://localhost:4010/", False),
    ],
)
def test_origin_is_scheme_host_and_port(first, second, same):
    assert (validation.origin(first) == validation.origin(second)) is same


# -- tokens and secrets that HTTP cannot carry are refused without showing them (issue 12, item 4) --


@pytest.mark.parametrize("value", ["abc\ndef-secret", "abc-secret\n", " abc-secret", "abc secret", "abc\tsecret", "abc\x00secret", "abc\x7fsecret",
                                   "abc\u2028secret", "abc\u00a0secret"])
def test_a_credential_with_whitespace_or_a_control_character_is_refused_without_showing_it(value):
    with pytest.raises(InputError, match=r"^client_secret contains whitespace or a control character .*the value is not shown") as caught:
        validation.credential(value, "client_secret")
    assert "secret" not in str(caught.value).replace("client_secret", "").replace("secret store", "")
    assert caught.value.field == "client_secret"


@pytest.mark.parametrize("value", ["0123abcdef", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_~+/=", "pässwört", None])
def test_printable_credentials_pass_unchanged(value):
    assert validation.credential(value, "client_secret") == value


def test_a_token_the_server_issued_with_a_newline_is_refused_without_showing_it():
    with pytest.raises(CtCloudError, match="issued an access token with whitespace or control characters; it was neither stored nor used") as caught:
        validation.token_from_server("issued-half\nother-half", "an access token")
    assert "half" not in str(caught.value)
    assert validation.token_from_server("clean-token", "an access token") == "clean-token"
