# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module tests as data: the case files in ``cases/``, a fake API that answers only what a case scripts, the checks.

One YAML file per module, ``cases/<module>.yml``::

    module: ct_location       # the module under plugins/modules
    cloud: ct                 # ct or cthings: which fake API the paths below are under
    anchors: {}               # free room for YAML anchors (&name / *name); the runner does not read it
    cases:
      - id: creates-a-location      # unique in the file; the pytest id is <module>-<id>
        input: {name: Shop}         # module arguments (_ansible_check_mode, _ansible_diff too); the runner adds
                                    # the connection options (api_url, auth_url, client_id, client_secret,
                                    # refresh_token, token_store), which an input may override
        before:                     # optional: earlier runs of the module against the same fake and token store
          - {client_id: x}          #   (their results are ${before[0].state} in a string of `input`)
        replies:                    # what the fake API answers; a request no reply matches fails the case
          - request: GET /locations     # method and path under the API base (CT: /api/v1, cThings: the host)
            query: {location_name: Shop}  # optional: only a request whose query has these values (a reply
                                          # with a matching query is preferred over one without)
            status: 200                   # default 200
            body: {locations: []}         # JSON body (default none)
          - request: GET /boxes/ap-1
            sequence:                     # or several replies, in order; the last one repeats
              - {body: {...}}
              - {status: 404, body: {message: gone}}
        output: {changed: true}     # a subset of the printed result: dicts by key, lists item by item (same
                                    # length); unless it says `failed: true`, the result must not have failed
        msg: "regex"                # optional: re.search in the result's msg
        matches: {state: "^\\S+$"}   # optional: re.search in other result fields (their text)
        absent: [diff]              # optional: keys the result must not have
        writes:                     # every POST/PATCH/PUT/DELETE to the API, in order (default: none at all)
          - request: POST /locations
            body: {location: {location_name: Shop}}  # optional: a subset of the JSON body sent
        reads: [GET /locations]     # optional: requests that must have been made (strings, or dicts with query)
        sends_nothing: true         # optional: not a single request, token endpoints included
        grants: {refresh_token: 1}  # optional: token grants the fake counted (a subset)

Reads are scripted by (method, path), not in a global order: a module that reads once more (a list without
filters before a create, a second page) needs at most a reply added, never a case rewritten.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

# The one place these tests name module_utils: the pauses a module sleeps between reads and retries.
from ansible_collections.ctcloud.cloud.plugins.module_utils._api import ct, transport
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import resource
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_oauth_server import (
    CT_CLIENT,
    CTHINGS_CLIENT,
    INITIAL_REFRESH,
    FakeServer,
    Handler,
)

CASES_DIR = Path(__file__).resolve().parent / "cases"
MODULES_DIR = Path(__file__).resolve().parents[4] / "plugins" / "modules"
API_BASES = {"ct": "/ct-api/api/v1", "cthings": "/cthings-api"}
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
UNSCRIPTED = 501  # not transient for the transport: the module stops at the first request the case did not script
CASE_KEYS = {"id", "input", "before", "replies", "output", "msg", "matches", "absent", "writes", "reads", "sends_nothing", "grants"}
REPLY_KEYS = {"request", "query", "status", "body", "sequence"}
PLACEHOLDER = re.compile(r"\$\{before\[(\d+)\]\.(\w+)\}")


class CaseError(AssertionError):
    """A case file that does not follow the format, or a case whose expectation failed."""


# -- loading -------------------------------------------------------------------


def module_names() -> list[str]:
    return sorted(path.stem for path in MODULES_DIR.glob("*.py") if not path.stem.startswith("_"))


def case_files() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("module") != path.stem:
        raise CaseError(f"{path.name}: the top level must be a mapping whose module is {path.stem!r}")
    if data.get("cloud") not in API_BASES:
        raise CaseError(f"{path.name}: cloud must be one of {', '.join(API_BASES)}")
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise CaseError(f"{path.name}: cases must be a non-empty list")
    seen = set()
    for case in cases:
        where = f"{path.name}, case {case.get('id') if isinstance(case, dict) else case!r}"
        if not isinstance(case, dict) or not isinstance(case.get("id"), str):
            raise CaseError(f"{where}: each case is a mapping with a string id")
        if case["id"] in seen:
            raise CaseError(f"{where}: the id is used twice")
        seen.add(case["id"])
        unknown = set(case) - CASE_KEYS
        if unknown:
            raise CaseError(f"{where}: unknown keys {', '.join(sorted(unknown))} (known: {', '.join(sorted(CASE_KEYS))})")
        for reply in case.get("replies") or []:
            unknown = set(reply) - REPLY_KEYS
            if unknown or not isinstance(reply.get("request"), str):
                raise CaseError(f"{where}: a reply needs request: 'METHOD /path' and takes only {', '.join(sorted(REPLY_KEYS))}")
    return data


def all_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(module, cloud, case) for every case of every file."""
    return [(data["module"], data["cloud"], case) for data in map(load, case_files()) for case in data["cases"]]


def is_check_mode(case: dict[str, Any]) -> bool:
    return bool((case.get("input") or {}).get("_ansible_check_mode"))


def is_diff_mode(case: dict[str, Any]) -> bool:
    return bool((case.get("input") or {}).get("_ansible_diff"))


# -- the fake API --------------------------------------------------------------


def _split(request: str) -> tuple[str, str]:
    method, _space, path = request.strip().partition(" ")
    return method.upper(), path.strip()


def _query_matches(expected: dict[str, Any] | None, actual: dict[str, list[str]]) -> bool:
    return all(actual.get(name) == [_text(value)] for name, value in (expected or {}).items())


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class Script:
    """The replies of one case, with every API request the module sent (method, path under the base, query, body)."""

    def __init__(self, replies: list[dict[str, Any]], base: str) -> None:
        self.base = base
        self.lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []
        self.unscripted: list[str] = []
        self.entries = []
        for reply in replies:
            method, path = _split(reply["request"])
            queue = list(reply["sequence"]) if "sequence" in reply else [{"status": reply.get("status", 200), "body": reply.get("body")}]
            self.entries.append({"method": method, "path": path, "query": reply.get("query"), "queue": queue})

    def answer(self, method: str, full_path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        path = full_path[len(self.base):] if full_path.startswith(self.base) else full_path
        with self.lock:
            self.sent.append({"method": method, "path": path, "query": query, "body": body})
            matching = [e for e in self.entries if e["method"] == method and e["path"] == path and _query_matches(e["query"], query)]
            specific = [e for e in matching if e["query"]]
            entry = (specific or matching or [None])[0]
            if entry is None:
                shown = f"{method} {path}" + (f" {json.dumps(query, sort_keys=True)}" if query else "")
                self.unscripted.append(shown)
                return UNSCRIPTED, {"message": f"unscripted request {shown}: the case has no reply for it"}
            reply = entry["queue"].pop(0) if len(entry["queue"]) > 1 else entry["queue"][0]
        return reply.get("status", 200), reply.get("body")


class CaseHandler(Handler):
    """The fake's OAuth endpoints as they are; every API request answered from the case's script."""

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            self.case_body = json.loads(raw) if raw else None
        except ValueError:
            self.case_body = raw.decode("utf-8", "replace")

    def _scripted(self, method: str, path: str) -> None:
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        status, body = self.server.script.answer(method, path, query, getattr(self, "case_body", None))  # type: ignore[attr-defined]
        self._send(status, body)


class CaseServer(FakeServer):
    def __init__(self, replies: list[dict[str, Any]], cloud: str) -> None:
        super().__init__()
        self.script = Script(replies, API_BASES[cloud])
        self.httpd.RequestHandlerClass = CaseHandler
        self.httpd.script = self.script  # type: ignore[attr-defined]

    def connection(self, cloud: str, store: str) -> dict[str, Any]:
        """The connection options that point a module at this fake, with a token store of its own."""
        if cloud == "ct":
            return {"api_url": self.urls["ct_api_url"], "auth_url": self.urls["ct_auth_url"], "client_id": CT_CLIENT[0],
                    "client_secret": CT_CLIENT[1], "refresh_token": INITIAL_REFRESH, "token_store": store}
        return {"api_url": self.urls["cthings_api_url"], "auth_url": self.urls["cthings_auth_url"], "client_id": CTHINGS_CLIENT[0],
                "client_secret": CTHINGS_CLIENT[1], "token_store": store}


def quiet(monkeypatch: Any) -> None:
    """No pause a module takes between polls, retries and converging reads; no connection option from the environment."""
    monkeypatch.setattr(resource, "WAIT_FIRST_PAUSE", 0.0)
    monkeypatch.setattr(resource, "CONVERGE_PAUSE", 0.0)
    monkeypatch.setattr(transport, "BACKOFF_FACTOR", 0.0)
    monkeypatch.setattr(transport, "BACKOFF_JITTER", 0.0)
    monkeypatch.setattr(ct, "REFRESH_PAUSE", 0.0)
    for name in list(os.environ):
        if name.startswith(("CT_", "CTHINGS_", "CTCLOUD_")):
            monkeypatch.delenv(name)


def fill(args: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """``args`` with each ``${before[N].key}`` replaced by that field of the N-th earlier result."""

    def value(match: re.Match) -> str:
        index, key = int(match.group(1)), match.group(2)
        if index >= len(earlier) or key not in earlier[index]:
            raise CaseError(f"{match.group(0)}: no such earlier result field")
        return str(earlier[index][key])

    return {name: PLACEHOLDER.sub(value, item) if isinstance(item, str) else item for name, item in args.items()}


# -- the checks ----------------------------------------------------------------


def subset_problems(expected: Any, actual: Any, where: str = "result") -> list[str]:
    """Where ``actual`` differs from ``expected``: dicts by the expected keys, lists item by item, the rest by equality."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems.extend(subset_problems(value, actual[key], f"{where}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected a list of {len(expected)}, got {actual!r}"]
        pairs = enumerate(zip(expected, actual, strict=True))
        return [problem for index, (item, got) in pairs for problem in subset_problems(item, got, f"{where}[{index}]")]
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def mark(server: CaseServer) -> dict[str, Any]:
    """Where the fake's records stand: the checks look only at what came after (not at a case's ``before`` runs)."""
    return {"api": len(server.script.sent), "all": len(server.state.requests), "grants": dict(server.state.token_requests)}


def check(case: dict[str, Any], result: dict[str, Any], server: CaseServer, since: dict[str, Any]) -> None:
    """Every expectation of ``case`` against the module's ``result`` and what the fake saw; one error listing all problems."""
    script = server.script
    if script.unscripted:
        raise CaseError(f"the module sent requests the case does not answer: {'; '.join(script.unscripted)} (add a reply for each)")
    problems = []
    output = dict(case.get("output") or {})
    if not output.get("failed") and result.get("failed"):
        problems.append(f"the module failed: {result.get('msg')}")
    problems.extend(subset_problems(output, result))
    if "msg" in case and not re.search(case["msg"], str(result.get("msg", ""))):
        problems.append(f"msg {result.get('msg')!r} does not match {case['msg']!r}")
    for key, pattern in (case.get("matches") or {}).items():
        if key not in result or not re.search(pattern, str(result[key])):
            problems.append(f"result.{key} {result.get(key)!r} does not match {pattern!r}")
    problems.extend(f"result.{key}: present, expected absent" for key in case.get("absent") or [] if key in result)
    sent = script.sent[since["api"]:]
    writes = [request for request in sent if request["method"] in WRITE_METHODS]
    expected_writes = case.get("writes") or []
    shown = [f"{w['method']} {w['path']}" for w in writes]
    if [" ".join(_split(w["request"])) for w in expected_writes] != shown:
        problems.append(f"writes: expected {[w['request'] for w in expected_writes]}, sent {shown}")
    else:
        for index, (expected, actual) in enumerate(zip(expected_writes, writes, strict=True)):
            if "body" in expected:
                problems.extend(subset_problems(expected["body"], actual["body"], f"writes[{index}].body"))
    for read in case.get("reads") or []:
        request, query = (read, None) if isinstance(read, str) else (read["request"], read.get("query"))
        method, path = _split(request)
        if not any(r["method"] == method and r["path"] == path and _query_matches(query, r["query"]) for r in sent):
            problems.append(f"reads: {request} {query or ''} was never sent")
    if case.get("sends_nothing"):
        everything = server.state.requests[since["all"]:]
        if everything:
            problems.append(f"sends_nothing: the module sent {[f'{method} {path}' for method, path in everything]}")
    for grant, count in (case.get("grants") or {}).items():
        counted = server.state.token_requests.get(grant, 0) - since["grants"].get(grant, 0)
        if counted != count:
            problems.append(f"grants.{grant}: expected {count}, the fake counted {counted}")
    if problems:
        raise CaseError("\n  ".join(["the case's expectations do not hold:", *problems, f"result: {json.dumps(result, sort_keys=True)[:4000]}"]))
