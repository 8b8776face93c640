# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 6: replies no API should send end in a clean failure naming method, URL and status.

A raw socket server (``ctsystem.rawhttp``) plays the API. Six kinds of bad reply,
each against three requests: a CT read (``ct_location_info``, GET, with a static
access token), a CT create (``ct_location``, whose list read gets a valid empty list
and whose POST gets the bad reply), and a cThings read (``cthings_device_info``, GET,
after a valid token from the same server). One host per case, all cases in parallel.

Asserted per case: the task failed; its message starts with the method and the
exact URL and says the status (``HTTP 502``, ``HTTP 200``, ... or ``no HTTP
response`` for a reset and a stall); ``failure`` holds method, URL and status; no
Python traceback anywhere in the result. And the retry policy, from the server's
own request log: a read is retried a bounded number of times (1 + 8 for transient
failures), a 2xx that cannot be used is not retried, and a create is never re-sent
without a re-read (list, then POST) in between, at most 5 times.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from ctsystem.ansible_run import Ansible, case_result, one_case_per_host_playbook, write_case_inventory
from ctsystem.collection import has_module
from ctsystem.rawhttp import RawHttpServer, Reply, Request, Reset, Stall

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
EMPTY_LIST = {"locations": [], "_links": {"current_page": 1, "total_pages": 0, "next_page": None, "total_entries": 0, "size": 0}}
TOKEN = {"access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.", "expires_in": 3600, "scope": ["api"], "token_type": "Bearer"}
TIMEOUT = 1  # the module's timeout option for every case: the stall lasts far longer
READ_ATTEMPTS = {  # a read is tried once, then retried by the transport's policy
    "html_502": 1 + 8,  # a transient status: transport.RETRY_ATTEMPTS retries
    "connection_reset": 1 + 2,  # a reply cut or never sent: transport.READ_RETRIES,
    "stall": 1 + 2,  # since each such attempt may cost a whole timeout
}
CREATE_ATTEMPTS = 5  # resource.CONVERGE_ATTEMPTS


def bad_reply(kind: str, cloud: str, method: str) -> Any:
    """The bad reply of one kind, shaped for the endpoint it replaces."""
    if kind == "html_502":
        return Reply(502, HTML_502, "text/html", "Bad Gateway")
    if kind == "truncated_json":
        whole = json.dumps({"api": "cThings Cloud API", "code": 200, "data": [{"id": "x"}]} if cloud == "cthings" else
                           {"id": "1001", "location_name": "Truncated Cafe"} if method == "POST" else EMPTY_LIST)
        return Reply(201 if method == "POST" else 200, whole[: len(whole) // 2])
    if kind == "missing_fields":
        if cloud == "cthings":
            return Reply(200, {"api": "cThings Cloud API", "code": 200, "links": {}})  # no data
        return Reply(201, {"id": "1001"}) if method == "POST" else Reply(200, {"locations": [{"id": "1001"}]})  # no names, no _links
    if kind == "wrong_content_type":
        return Reply(201 if method == "POST" else 200, json.dumps(EMPTY_LIST), "text/plain")
    if kind == "connection_reset":
        return Reset()
    if kind == "stall":
        return Stall(60)
    raise ValueError(kind)


KINDS = ("html_502", "truncated_json", "missing_fields", "wrong_content_type", "connection_reset", "stall")
RETRIED = {"html_502", "connection_reset", "stall"}  # transient: a read is retried, a create converges
STATUS = {"html_502": "HTTP 502", "truncated_json": "HTTP 20[01]", "missing_fields": "HTTP 20[01]", "wrong_content_type": "HTTP 20[01]",
          "connection_reset": "no HTTP response", "stall": "no HTTP response"}
EXPLAINS = {
    "html_502": r"502 Bad Gateway \(a text/html body",
    "truncated_json": r"not valid JSON",
    "missing_fields": r"unexpected reply shape",
    "wrong_content_type": r"content type 'text/plain'",
    "connection_reset": r"connection failed",
    "stall": r"no reply within the timeout of 1\.0 seconds",
}


@dataclass(frozen=True)
class Case:
    kind: str
    target: str  # ct_read, ct_create, cthings_read

    @property
    def host(self) -> str:
        return f"{self.kind}-{self.target}".replace("_", "-")

    @property
    def module(self) -> str:
        return {"ct_read": "ct_location_info", "ct_create": "ct_location", "cthings_read": "cthings_device_info"}[self.target]

    @property
    def method(self) -> str:
        return "POST" if self.target == "ct_create" else "GET"

    def url(self, base: str) -> str:
        if self.target == "cthings_read":
            return f"{base}/{self.host}/cthings-api/v3/device"
        return f"{base}/{self.host}/ct-api/api/v1/locations"

    def args(self, base: str) -> dict[str, Any]:
        common = {"timeout": TIMEOUT, "token_store": "{{ token_store }}"}
        if self.target == "cthings_read":
            return {**common, "api_url": f"{base}/{self.host}/cthings-api", "auth_url": f"{base}/{self.host}/cthings-auth/token",
                    "client_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "client_secret": "notverysecret0123456789"}
        args = {**common, "api_url": f"{base}/{self.host}/ct-api/api/v1", "auth_url": f"{base}/{self.host}/ct-id", "access_token": "static-token-0001"}
        if self.target == "ct_create":
            args.update(name="Malformed Reply Cafe", address="1 Broken Street", town="Errorton", postcode="ER1 1OR", country="gb")
        return args


CASES = [Case(kind, target) for kind in KINDS for target in ("ct_read", "ct_create", "cthings_read")]


class MalformedApi:
    """Routes by the first path segment (the case's host name) and answers as that case says."""

    def __init__(self) -> None:
        self.cases = {case.host: case for case in CASES}
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Any:
        host, _slash, rest = request.path.lstrip("/").partition("/")
        case = self.cases[host]
        if rest.startswith("cthings-auth/token"):
            return Reply(200, TOKEN)
        if case.target == "ct_create" and request.method == "GET":
            return Reply(200, EMPTY_LIST)  # the create's list read works; its POST does not
        return bad_reply(case.kind, "cthings" if case.target == "cthings_read" else "ct", request.method)


@pytest.fixture(scope="module")
def malformed_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("malformed")
    server = RawHttpServer(MalformedApi()).start()
    try:
        cases = [case for case in CASES if has_module(case.module)]
        inventory = write_case_inventory(tmp_path / "cases.yml", {
            case.host: {"case_module": case.module, "case_args": case.args(server.base_url), "token_store": str(tmp_path / case.host / "t.json")}
            for case in cases
        })
        playbook = tmp_path / "malformed.yml"
        playbook.write_text(json.dumps(one_case_per_host_playbook([case.module for case in cases], "malformed reply")), encoding="utf-8")
        run = Ansible(tmp_path / "ansible").playbook(playbook, inventory=inventory, forks=len(cases), timeout=240)
        yield run, server.base_url, server.exchanges
    finally:
        server.close()


@pytest.mark.parametrize("case", CASES, ids=[case.host for case in CASES])
def test_a_malformed_reply_fails_cleanly_naming_method_url_and_status(case, malformed_run):
    if not has_module(case.module):
        pytest.skip(f"{case.module} is not in the collection yet")
    run, base, exchanges = malformed_run
    result = case_result(run, case.host)
    assert result.status == "failed", result.result
    assert result.python_traceback() is None, result.python_traceback()
    url = case.url(base)
    assert re.match(rf"{case.method} {re.escape(url)}(\?\S*)? failed \({STATUS[case.kind]}\): .*{EXPLAINS[case.kind]}", result.msg), result.msg
    failure = result.result["failure"]
    assert failure["method"] == case.method and failure["url"].startswith(url), failure
    assert (failure["status"] is None) == (STATUS[case.kind] == "no HTTP response"), failure

    sent = [(exchange.request.method, exchange.request.path) for exchange in exchanges if exchange.request.path.startswith(f"/{case.host}/")
            and "-auth/" not in exchange.request.path]
    if case.method == "GET":
        assert len(sent) == READ_ATTEMPTS.get(case.kind, 1), sent
    else:
        posts = [index for index, (method, _path) in enumerate(sent) if method == "POST"]
        assert len(posts) == (CREATE_ATTEMPTS if case.kind in RETRIED else 1), sent
        # never re-sent blindly: a list read before every POST
        assert all(sent[index - 1][0] == "GET" for index in posts), sent
