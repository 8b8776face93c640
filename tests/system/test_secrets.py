# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 4: no client secret, access token or refresh token in any output, at -vvvv, failures included.

What runs, all at ``-vvvv`` with the credentials given as module parameters (so
``no_log`` is what hides them), under umask 000:

1. the scenario playbook, all its traffic through a recording proxy, against an
   emulator that revokes CT access tokens every 9 requests (so tokens rotate mid-run);
2. ``ansible-inventory --list`` with both inventory plugins, credentials from the environment;
3. failing tasks against the emulator: a wrong CT secret, a wrong cThings secret, a
   revoked refresh token, a dead static access token;
4. failing tasks against a hostile server (``rawhttp``) that first forwards to the
   emulator (so the token store holds its real tokens) and then echoes every request --
   headers and body -- in its error replies: a CT 500, a CT 401 followed by a token
   endpoint that echoes the refresh form, a CT 422 to a create, a cThings 500, and a
   cThings 401 followed by a token endpoint that echoes the Basic authorization header.

Searched: stdout and stderr of every run, every task result, the inventory output.
Searched for: both clients' secrets, every wrong secret and token the tests made up,
every token the recording proxy saw issued, every token in the emulator's state file
and in every token store, and the Basic header form (base64 of id:secret) of each
cThings credential. Also: the token store is 0600 in a 0700 directory, made under
umask 000.
"""

from __future__ import annotations

import json
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

from ctsystem.collection import PLAYBOOKS, has_plugin, present_modules
from ctsystem.evidence import find_leaks, secret_forms, store_entries, tokens_in, tokens_in_json_bytes
from ctsystem.rawhttp import Forward, Reply, Request

NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class Hostile:
    """Forwards to the emulator until ``turn()``; then answers every request with an error that echoes it whole."""

    def __init__(self, emulator_port: int) -> None:
        self.emulator_port = emulator_port
        self.echoing = threading.Event()
        self.seen: set[str] = set()  # every credential that reached this server

    def turn(self) -> None:
        self.echoing.set()

    def __call__(self, request: Request) -> Any:
        mode, _slash, rest = request.target.lstrip("/").partition("/")
        self.seen |= {value.split(" ", 1)[-1] for name, value in request.headers.items() if name == "authorization"}
        self.seen |= {value for key, value in request.form().items() if key in ("client_secret", "refresh_token")}
        if not self.echoing.is_set():
            request.target = "/" + rest  # /<mode>/ct-api/... -> /ct-api/...
            return Forward(self.emulator_port)
        echo = f"{request.method} {request.target} headers={json.dumps(request.headers)} body={request.body.decode('utf-8', 'replace')}"
        if rest.startswith("ct-id/oauth/token"):
            return Reply(400, {"error": "invalid_request", "error_description": f"cannot process {echo}"})
        if rest.startswith("cthings-auth/token"):
            return Reply(401, {"error": "invalid_client", "error_description": f"bad credentials in {echo}"})
        cthings = rest.startswith("cthings-api")
        if mode == "m401":
            body = {"message": f"token in {echo} is revoked"}
            return Reply(401, cthings_envelope(401, body["message"]) if cthings else body)
        if mode == "m422":
            if request.method == "GET":
                return Reply(200, {"locations": [], "_links": {"current_page": 1, "total_pages": 0, "next_page": None, "total_entries": 0}})
            return Reply(422, {"errors": {"location_name": [f"is not accepted from {echo}"]}})
        message = f"Internal error while serving {echo}"
        return Reply(500, cthings_envelope(500, message) if cthings else {"message": message})


def cthings_envelope(code: int, message: str) -> dict[str, Any]:
    return {"api": "cThings Cloud API", "code": code, "data": None, "links": {}, "message": message,
            "request": {"url": "", "method": "GET", "body": None}, "websocket": False, "version": "3.13.1"}


def failing_playbook(cases: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    tasks = [{"name": name, f"ctcloud.cloud.{module}": args, "ignore_errors": True} for name, module, args in cases]
    return [{"name": "Failing cases", "hosts": "targets", "gather_facts": False, "tasks": tasks}]


def test_no_secret_in_any_output_at_vvvv_failures_included(start_emulator, raw_server, ansible, tmp_path, scenario_vars):
    emulator = start_emulator(revoke_every=9, state_file=tmp_path / "emulator-state.json")
    recorder = raw_server(lambda request: Forward(emulator.port))
    hostile = Hostile(emulator.port)
    hostile_server = raw_server(hostile)
    store = tmp_path / "private" / "tokens.json"
    hostile_store = tmp_path / "hostile" / "tokens.json"
    runs = {}

    # 1. The scenario, every request through the recorder.
    state = emulator.state(devices=True)
    through = {"api_url": lambda url: url.replace(f":{emulator.port}/", f":{recorder.port}/"),
               "auth_url": lambda url: url.replace(f":{emulator.port}/", f":{recorder.port}/")}
    extra_vars = scenario_vars(emulator, store, reboot_location_id=state["boxes"][0]["location_id"] or "1001",
                               device_id=state["devices"][0]["id"])
    for conn in ("ct_conn", "cthings_conn"):
        for key, rewrite in through.items():
            extra_vars[conn][key] = rewrite(extra_vars[conn][key])
    runs["scenario"] = ansible.playbook(PLAYBOOKS / "scenario.yml", extra_vars, verbosity=4, umask=0).check()
    assert emulator.stats()["revocations"] >= 1  # tokens rotated during the run

    # 2. Both inventory plugins, credentials from the environment.
    sources = [PLAYBOOKS / "inventory" / name for plugin, name in (("ct_boxes", "boxes.ct_boxes.yml"), ("cthings", "devices.cthings.yml"))
               if has_plugin("inventory", plugin)]
    if sources:
        env = {key: through["api_url"](value) for key, value in emulator.environment(store).items()}
        runs["inventory"] = ansible.inventory(sources, env=env, verbosity=4).check()

    # 3. and 4. Failing cases.
    wrong = {"ct_secret": "wrong" + secrets.token_hex(16), "cthings_secret": "Wrong" + secrets.token_hex(12),
             "refresh": secrets.token_hex(32), "access": secrets.token_hex(32)}
    ct = emulator.ct_connection(tmp_path / "failures" / "tokens.json")
    cthings = emulator.cthings_connection(tmp_path / "failures" / "tokens.json")
    static = {key: value for key, value in ct.items() if key not in ("refresh_token", "client_id", "client_secret")}

    hostile_chain = emulator.fresh_refresh_token()  # the scenario rotated the initial token away; this store needs its own chain

    def via_hostile(mode: str, conn: dict[str, Any], cloud: str) -> dict[str, Any]:
        base = f"http://127.0.0.1:{hostile_server.port}/{mode}"
        if cloud == "ct":
            return dict(conn, api_url=f"{base}/ct-api/api/v1", auth_url=f"http://127.0.0.1:{hostile_server.port}/any/ct-id",
                        token_store=str(hostile_store), refresh_token=hostile_chain)
        return dict(conn, api_url=f"{base}/cthings-api", auth_url=f"http://127.0.0.1:{hostile_server.port}/any/cthings-auth/token",
                    token_store=str(hostile_store))

    new_site = {"name": "Echo Chamber Cafe", "address": "1 Echo Street", "town": "Echoton", "postcode": "EC1 1EC", "country": "gb"}
    # The hostile server forwards first: its token store then holds real tokens, which later requests use.
    warm_up = [("warm up CT", "ct_location_info", via_hostile("m500", ct, "ct")),
               ("warm up cThings", "cthings_device_info", via_hostile("m500", cthings, "cthings"))]
    failures = [
        ("wrong CT client secret", "ct_location_info", dict(ct, client_secret=wrong["ct_secret"])),
        ("wrong cThings client secret", "cthings_device_info", dict(cthings, client_secret=wrong["cthings_secret"])),
        ("revoked CT refresh token", "ct_location_info", dict(ct, refresh_token=wrong["refresh"], token_store=str(tmp_path / "r" / "t.json"))),
        ("dead static CT access token", "ct_location_info", dict(static, access_token=wrong["access"])),
        ("CT 500 echoing the request", "ct_location_info", via_hostile("m500", ct, "ct")),
        ("CT 401, then a token endpoint echoing the form", "ct_location_info", via_hostile("m401", ct, "ct")),
        ("CT 422 echoing the create", "ct_location", dict(via_hostile("m422", ct, "ct"), **new_site)),
        ("cThings 500 echoing the request", "cthings_device_info", via_hostile("m500", cthings, "cthings")),
        ("cThings 401, then a token endpoint echoing Basic auth", "cthings_device_info", via_hostile("m401", cthings, "cthings")),
    ]
    warm_playbook = tmp_path / "warm_up.yml"
    warm_playbook.write_text(json.dumps(failing_playbook(warm_up)), encoding="utf-8")
    runs["warm-up"] = ansible.playbook(warm_playbook, {"have": present_modules()}, verbosity=4, umask=0).check()
    assert [result.status for result in runs["warm-up"].results] == ["ok", "ok"], runs["warm-up"].describe()
    hostile.turn()
    failing = tmp_path / "failing.yml"
    failing.write_text(json.dumps(failing_playbook(failures)), encoding="utf-8")
    runs["failures"] = ansible.playbook(failing, {"have": present_modules()}, verbosity=4, umask=0)

    failed = {result.task for result in runs["failures"].results if result.failed}
    assert failed == {failure[0] for failure in failures}, runs["failures"].describe()
    for result in runs["failures"].results:
        assert result.python_traceback() is None, result.result

    # Every credential of the run.
    emulator.stop()  # the state file is complete once the emulator has exited
    everything: set[str] = {emulator.ct["client_secret"], emulator.ct["refresh_token"], emulator.cthings["client_secret"], hostile_chain,
                            *wrong.values()}
    for exchange in recorder.exchanges:
        everything |= tokens_in_json_bytes(exchange.reply_body)
    everything |= tokens_in(json.loads((tmp_path / "emulator-state.json").read_text(encoding="utf-8"))["ct_tokens"])
    for path in (store, hostile_store, tmp_path / "failures" / "tokens.json"):
        everything |= tokens_in(store_entries(path))
    everything |= hostile.seen
    issued_refresh = [token for exchange in recorder.exchanges if exchange.request.path.endswith("/oauth/token")
                      for token in tokens_in(_json(exchange.reply_body))]
    assert len(issued_refresh) >= 4, "the run rotated too few tokens for this test to mean much"
    basic = [(emulator.cthings["client_id"], emulator.cthings["client_secret"]), (emulator.cthings["client_id"], wrong["cthings_secret"])]
    forms = secret_forms(everything, basic)

    texts = {}
    for name, run in runs.items():
        texts[f"{name} stdout"] = run.stdout
        texts[f"{name} stderr"] = run.stderr
        texts[f"{name} results"] = "\n".join(json.dumps(result.result) for result in run.results)
    leaks = find_leaks(texts, forms)
    assert leaks == [], "\n".join(leaks)
    assert NO_LOG_MARK in runs["scenario"].stdout  # -vvvv did print the module arguments, masked
    assert "module_args" in runs["failures"].stdout

    for path in (store, hostile_store):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
        assert stat.S_IMODE(Path(f"{path}.lock").stat().st_mode) == 0o600


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except ValueError:
        return None
