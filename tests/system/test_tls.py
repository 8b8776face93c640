# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 7: TLS is verified by default, and validate_certs: false is the explicit way out.

A certificate for 127.0.0.1 is made at test time (the ``cryptography`` package),
self-signed, so only its issuer is untrusted: the name matches. A TLS-terminating
proxy (``rawhttp``) with it forwards to the emulator. Against it:

- the default (``validate_certs`` unset, i.e. true) fails, for both clouds and for the
  ct_boxes inventory plugin, with a message naming method and URL, saying the
  certificate could not be verified and how to proceed; no request reached the emulator;
- ``validate_certs: false`` works end to end, also with ``REQUESTS_CA_BUNDLE`` set (as on
  many CI machines: requests used to let it override ``verify=False``);
- with the certificate in ``REQUESTS_CA_BUNDLE``, the default works too: verification is
  a real check against the trusted CAs, not a refusal of anything self-made.
"""

from __future__ import annotations

import re

import certifi
import pytest
from ctsystem.collection import PLAYBOOKS, has_plugin
from ctsystem.rawhttp import Forward, self_signed_certificate, server_tls_context

VERIFY_FAILED = r"TLS certificate verification failed \(.*certificate verify failed.*\); fix the CA trust, or set validate_certs: false"
# A real CA bundle in the variable requests reads: set on many CI machines, and it must not change the outcome.
CA_BUNDLE_ENV = {"REQUESTS_CA_BUNDLE": certifi.where(), "CURL_CA_BUNDLE": certifi.where()}
# Without retries a refused handshake fails at once; retried with backoff, the two tasks would take over a minute.
REFUSAL_BOUND = 40.0


@pytest.fixture
def https_emulator(emulator, raw_server, tmp_path):
    cert, key = self_signed_certificate(tmp_path / "tls")
    proxy = raw_server(lambda request: Forward(emulator.port), tls=server_tls_context(cert, key))
    return emulator, proxy, cert


def over_https(connection: dict, proxy_port: int, emulator_port: int) -> dict:
    return {key: value.replace(f"http://127.0.0.1:{emulator_port}/", f"https://127.0.0.1:{proxy_port}/") if key.endswith("_url") else value
            for key, value in connection.items()}


def tls_vars(emulator, proxy, token_store, **extra):
    return {"ct_conn": over_https(emulator.ct_connection(token_store), proxy.port, emulator.port),
            "cthings_conn": over_https(emulator.cthings_connection(token_store), proxy.port, emulator.port), **extra}


def test_a_self_signed_certificate_is_refused_by_default_with_a_clear_message(https_emulator, ansible, token_store):
    emulator, proxy, _cert = https_emulator
    run = ansible.playbook(PLAYBOOKS / "tls.yml", tls_vars(emulator, proxy, token_store), env=CA_BUNDLE_ENV)
    for task, url in (("CT locations", f"https://127.0.0.1:{proxy.port}/ct-id/oauth/token"),
                      ("Devices of cThings", f"https://127.0.0.1:{proxy.port}/cthings-auth/token")):
        result = run.one(task)
        assert result.failed, result.result
        assert result.msg.startswith(f"POST {url} failed (no HTTP response): "), result.msg
        assert re.search(VERIFY_FAILED, result.msg), result.msg
        assert result.python_traceback() is None
    assert emulator.stats()["total"] == 0  # nothing got past the handshake
    assert proxy.handshake_failures >= 2
    assert proxy.exchanges == []
    assert run.elapsed < REFUSAL_BOUND, f"{run.elapsed:.0f} s: a refused certificate was retried"


def test_validate_certs_false_works_end_to_end(https_emulator, ansible, token_store):
    emulator, proxy, _cert = https_emulator
    run = ansible.playbook(PLAYBOOKS / "tls.yml", tls_vars(emulator, proxy, token_store, validate_certs=False), env=CA_BUNDLE_ENV).check()
    assert [result.status for result in run.results] == ["ok", "ok"], run.describe()
    assert run.result("CT locations")["locations"] and run.result("Devices of cThings")["devices"]
    assert proxy.exchanges and emulator.stats()["hosts"]["ct_api"] >= 1


def test_the_default_works_once_the_certificate_is_trusted(https_emulator, ansible, token_store):
    emulator, proxy, cert = https_emulator
    run = ansible.playbook(PLAYBOOKS / "tls.yml", tls_vars(emulator, proxy, token_store), env={"REQUESTS_CA_BUNDLE": str(cert)}).check()
    assert [result.status for result in run.results] == ["ok", "ok"], run.describe()


@pytest.mark.skipif(not has_plugin("inventory", "ct_boxes"), reason="the ct_boxes inventory plugin is not in the collection yet")
def test_the_inventory_plugin_verifies_too(https_emulator, ansible, token_store, tmp_path):
    emulator, proxy, _cert = https_emulator
    env = {key: value.replace(f"http://127.0.0.1:{emulator.port}/", f"https://127.0.0.1:{proxy.port}/")
           for key, value in emulator.environment(token_store).items()}
    env.update(CA_BUNDLE_ENV)
    config = tmp_path / "boxes.ct_boxes.yml"
    config.write_text("plugin: ctcloud.cloud.ct_boxes\n", encoding="utf-8")
    refused = ansible.inventory([config], env=env)
    assert refused.rc != 0
    assert re.search(VERIFY_FAILED, refused.stderr.replace("\n", " ")), refused.describe()
    assert "Traceback" not in refused.stderr
    config.write_text("plugin: ctcloud.cloud.ct_boxes\nvalidate_certs: false\n", encoding="utf-8")
    accepted = ansible.inventory([config], env=env).check()
    assert '"ct_box_slug"' in accepted.stdout
