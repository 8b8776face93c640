# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 12: what a hostile server, a co-tenant on the same machine, or a pull request can do.

One test (or a few) per item of the issue, each against real ``ansible-playbook`` runs
and a real emulator or a hostile raw server on 127.0.0.1. ``docs/security.md`` names
the test behind each guarantee.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ctsystem.collection import PLAYBOOKS as SYSTEM_PLAYBOOKS
from ctsystem.collection import collection_root
from ctsystem.evidence import find_leaks, store_entries, stored_ct_entry
from ctsystem.rawhttp import Reply, Request, self_signed_certificate, server_tls_context

# uid/gid of "another local user": nobody on Debian. Only root can give a file away, so the
# ownership cases run where the suite runs in CI (as root) and are left out elsewhere.
OTHER_USER = 65534
IS_ROOT = os.geteuid() == 0


def tasks_playbook(path: Path, tasks: list[dict[str, Any]], name: str = "Security cases") -> Path:
    """A play on the local targets with the emulator's connections as module defaults (JSON is YAML)."""
    play = {
        "name": name,
        "hosts": "targets",
        "gather_facts": False,
        "module_defaults": {"group/ctcloud.cloud.ct": "{{ ct_conn }}", "group/ctcloud.cloud.cthings": "{{ cthings_conn }}"},
        "tasks": tasks,
    }
    path.write_text(json.dumps([play], indent=1), encoding="utf-8")
    return path


def api_requests(stats: dict[str, Any] | None) -> int:
    assert stats is not None, "the run was not given stats_url"
    hosts = stats["hosts"]
    return hosts["ct_auth"] + hosts["ct_api"] + hosts["cthings_auth"] + hosts["cthings_api"]


# ---- item 3: the token store trusts only what the user owns and nobody else can write --------------


def test_item3_token_store_refuses_paths_it_cannot_trust_and_creates_private_directories(emulator, ansible, tmp_path, scenario_vars):
    # A real store with a valid access token, as a first run leaves it: the cases copy it, so a store that is
    # used sends no token request, and one that is refused sends nothing at all.
    good = tmp_path / "good" / "tokens.json"
    warm = tasks_playbook(tmp_path / "warm.yml", [{"name": "warm up", "ctcloud.cloud.ct_location_info": {"token_store": str(good)}}])
    ansible.playbook(warm, scenario_vars(emulator, good)).check()

    def planted(case: str, files: tuple[str, ...] = ("tokens.json", "tokens.json.lock")) -> Path:
        """A copy of the good store and its lock in a fresh private directory of this case.

        Without the store (only the lock), the module must renew its token and so take the lock.
        """
        directory = tmp_path / "cases" / case
        directory.mkdir(parents=True)
        directory.chmod(0o700)
        for name in files:
            shutil.copy2(good.parent / name, directory / name)
        return directory / "tokens.json"

    refused: dict[str, tuple[Path, str]] = {}  # case -> (token_store, what the message must say)

    def refuse(case: str, store: Path, *message: str) -> None:
        """The case's message: these parts in this order (paths literal, not patterns)."""
        refused[case] = (store, ".*".join(re.escape(part) for part in message))

    store = planted("group-writable store")
    store.chmod(0o660)
    refuse("group-writable store", store, f"the token store {store} is readable or writable by group or others (mode 0660)", f"chmod 600 {store}")
    store = planted("world-readable store")
    store.chmod(0o644)
    refuse("world-readable store", store, f"the token store {store} is readable or writable by group or others (mode 0644)", f"chmod 600 {store}")
    store = planted("world-writable directory")
    store.parent.chmod(0o777)
    refuse("world-writable directory", store, f"the token store directory {store.parent} is writable by group or others", f"chmod 700 {store.parent}")
    store = planted("group-writable lock", ("tokens.json.lock",))
    Path(f"{store}.lock").chmod(0o660)
    refuse("group-writable lock", store, f"the token store lock {store}.lock is writable by group or others", f"chmod 600 {store}.lock")
    store = planted("store is a symbolic link")
    store.unlink()
    store.symlink_to(good)
    refuse("store is a symbolic link", store, f"the token store {store} is a symbolic link, which is refused")
    store = planted("lock is a symbolic link", ("tokens.json.lock",))
    Path(f"{store}.lock").unlink()
    Path(f"{store}.lock").symlink_to(tmp_path / "elsewhere.lock")
    refuse("lock is a symbolic link", store, f"the token store lock {store}.lock is a symbolic link, which is refused")
    if IS_ROOT:
        store = planted("store of another user")
        os.chown(store, OTHER_USER, OTHER_USER)
        refuse("store of another user", store, f"the token store {store} belongs to uid {OTHER_USER}, not to uid 0", f"chown 0 {store}")
        store = planted("directory of another user")
        os.chown(store.parent, OTHER_USER, OTHER_USER)
        refuse("directory of another user", store, f"the token store directory {store.parent} belongs to uid {OTHER_USER}", f"chown 0 {store.parent}")
        store = planted("lock of another user", ("tokens.json.lock",))
        os.chown(f"{store}.lock", OTHER_USER, OTHER_USER)
        refuse("lock of another user", store, f"the token store lock {store}.lock belongs to uid {OTHER_USER}", f"chown 0 {store}.lock")
    fresh = tmp_path / "new" / "nested" / "private" / "tokens.json"

    tasks = [{"name": case, "ctcloud.cloud.ct_location_info": {"token_store": str(path)}, "ignore_errors": True}
             for case, (path, _message) in refused.items()]
    # The warm-up rotated the seed's refresh token away: the new store starts a chain of its own.
    fresh_chain = {"token_store": str(fresh), "refresh_token": emulator.fresh_refresh_token()}
    tasks.append({"name": "a store in directories that do not exist yet", "ctcloud.cloud.ct_location_info": fresh_chain, "no_log": True})
    playbook = tasks_playbook(tmp_path / "cases.yml", tasks)
    before = emulator.stats()
    run = ansible.playbook(playbook, scenario_vars(emulator, good), umask=0, stats_url=f"{emulator.admin_url}/stats")

    previous = api_requests(before)
    for case, (path, message) in refused.items():
        result = run.one(case)
        assert result.failed, f"{case}: the store at {path} was used\n{result.result}"
        assert re.search(message, result.msg, re.DOTALL), f"{case}: {result.msg}"
        assert api_requests(result.emulator_stats) == previous, f"{case}: requests were sent with a store that is refused"
        previous = api_requests(result.emulator_stats)
    assert not run.one("a store in directories that do not exist yet").failed, run.describe()
    for directory in (tmp_path / "new", tmp_path / "new" / "nested", fresh.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, f"{directory} made under umask 000"
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert (tmp_path / "elsewhere.lock").exists() is False  # the lock's link was not followed to create its target


# ---- item 6: no cleartext tokens, and a stored token only for the API origin it was obtained for ----------

# Plain-http hosts that are not this machine. The runs send plain http through a recording proxy on 127.0.0.1
# (requests honours HTTP_PROXY), so whatever the collection would send to them never leaves this machine.
REMOTE = {
    "ct_api": "http://ct-api.example.com/ct-api/api/v1",
    "ct_auth": "http://ct-id.example.com/ct-id",
    "cthings_api": "http://api.cthings.example.com/cthings-api",
    "cthings_auth": "http://auth.cthings.example.com/token",
}
REFUSED_HTTP = "must use https: {url} would carry tokens and secrets in cleartext"


def test_item6_plain_http_to_another_machine_is_refused_before_anything_is_sent(emulator, raw_server, ansible, tmp_path, scenario_vars):
    proxy = raw_server(lambda request: Reply(502, {"message": "the recording proxy forwards nothing"}))
    proxy_env = {"HTTP_PROXY": proxy.base_url, "http_proxy": proxy.base_url, "NO_PROXY": "127.0.0.1,localhost,::1",
                 "no_proxy": "127.0.0.1,localhost,::1"}
    loopback_name = emulator.ct["api_url"].replace("//127.0.0.1:", "//localhost:")

    def store(case: str) -> str:
        return str(tmp_path / "stores" / case / "tokens.json")  # a fresh store: a refusal must not depend on a stored token

    cases = [
        ("CT api_url", "ct_location_info", {"api_url": REMOTE["ct_api"], "token_store": store("ct-api")}, "api_url", REMOTE["ct_api"]),
        ("CT auth_url", "ct_location_info", {"auth_url": REMOTE["ct_auth"], "token_store": store("ct-auth")}, "auth_url", REMOTE["ct_auth"]),
        ("cThings api_url", "cthings_device_info", {"api_url": REMOTE["cthings_api"], "token_store": store("cthings-api")}, "api_url",
         REMOTE["cthings_api"]),
        ("cThings auth_url", "cthings_device_info", {"auth_url": REMOTE["cthings_auth"], "token_store": store("cthings-auth")}, "auth_url",
         REMOTE["cthings_auth"]),
        ("ct_auth authorize URL", "ct_auth", {"auth_url": REMOTE["ct_auth"], "redirect_uri": emulator.ct["redirect_uri"]}, "auth_url",
         REMOTE["ct_auth"]),
    ]
    tasks = [{"name": name, f"ctcloud.cloud.{module}": args, "ignore_errors": True} for name, module, args, _option, _url in cases]
    tasks.append({"name": "http to localhost is this machine", "ctcloud.cloud.ct_location_info": {"api_url": loopback_name}})
    playbook = tasks_playbook(tmp_path / "http.yml", tasks)
    before = api_requests(emulator.stats())
    run = ansible.playbook(playbook, scenario_vars(emulator, tmp_path / "stores" / "shared" / "tokens.json"), env=proxy_env,
                           stats_url=f"{emulator.admin_url}/stats")

    sent = [f"{request.method} {request.target} (authorization: {'authorization' in request.headers})" for request in proxy.requests]
    assert sent == [], f"requests reached the plain-http hosts: {sent}"
    for name, _module, _args, option, url in cases:
        result = run.one(name)
        assert result.failed, f"{name}: {url} was accepted\n{result.result}"
        assert f"{option} {REFUSED_HTTP.format(url=url)}" in result.msg, f"{name}: {result.msg}"
        assert result.result["failure"]["details"]["field"] == option
        assert api_requests(result.emulator_stats) == before, f"{name}: a request was sent before the refusal"
    assert not run.one("http to localhost is this machine").failed, run.describe()

    # The inventory plugins build the same clients: the same refusal, nothing sent.
    inventory = ansible.inventory([SYSTEM_PLAYBOOKS / "inventory" / "boxes.ct_boxes.yml"],
                                  env={**emulator.environment(tmp_path / "stores" / "inventory" / "tokens.json"), "CT_API_URL": REMOTE["ct_api"],
                                       **proxy_env})
    assert inventory.rc != 0, inventory.describe()
    assert f"api_url {REFUSED_HTTP.format(url=REMOTE['ct_api'])}" in inventory.stderr, inventory.describe()
    assert proxy.requests == []


def test_item6_a_stored_token_is_never_sent_to_another_api_origin(emulator, raw_server, ansible, tmp_path, scenario_vars, token_store):
    empty_list = {"locations": [], "_links": {"current_page": 1, "total_pages": 1, "next_page": None, "total_entries": 0}}
    other_api = raw_server(lambda request: Reply(200, empty_list))
    first = tasks_playbook(tmp_path / "first.yml", [{"name": "list locations", "ctcloud.cloud.ct_location_info": {}}])
    ansible.playbook(first, scenario_vars(emulator, token_store)).check()
    stored_for_emulator = stored_ct_entry(token_store)["access_token"]

    # The same client, auth server and token store; only api_url now names another server (a CT_API_URL left over
    # from another environment, or planted).
    elsewhere = tasks_playbook(tmp_path / "elsewhere.yml", [
        {"name": "list locations elsewhere", "ctcloud.cloud.ct_location_info": {"api_url": f"{other_api.base_url}/ct-api/api/v1"}}])
    ansible.playbook(elsewhere, scenario_vars(emulator, token_store)).check()
    received = {request.headers.get("authorization") for request in other_api.requests}
    assert received, "the other API was not asked at all"
    assert f"Bearer {stored_for_emulator}" not in received, "the token stored for the emulator's origin went to another API"

    # Both origins continue the one refresh chain: back at the emulator, with every access token revoked, the
    # stored chain still renews (no invalid_grant).
    emulator.revoke()
    back = ansible.playbook(first, scenario_vars(emulator, token_store)).check()
    assert not back.one("list locations").failed
    assert emulator.stats()["token_errors"] == {}


# ---- item 1: the token goes only to links under api_url ----------------------------------------------------

DEVICE = {"id": "3f1c2a54-8d1e-4c6b-9a57-0c2d4e6f8a10", "name": "Hostile page one", "active": True}


def envelope(data: Any, links: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"api": "cThings Cloud API", "code": 200, "data": data, "links": links or {}, "message": None,
            "request": {"url": "", "method": "GET", "body": None}, "websocket": False, "version": "3.13.1"}


class HostileLinks:
    """A cThings API whose first page names the next (or last) page somewhere else; ``/<case>/cthings-api`` picks the case."""

    def __init__(self, elsewhere: str) -> None:
        self.elsewhere = elsewhere  # another server on 127.0.0.1, recording what it receives
        self.base = ""  # this server's own base URL, set once it listens

    def __call__(self, request: Request) -> Reply:
        case, _slash, rest = request.path.lstrip("/").partition("/")
        if request.query.get("page") == ["2"] and rest.startswith("cthings-api/"):
            return Reply(200, envelope([], {"next": None}))  # a page under api_url: the end of the list
        if rest != "cthings-api/v3/device":
            return Reply(404, {"message": f"no {request.path} here"})
        own = f"{self.base}/{case}/cthings-api/v3/device"
        links = {
            "another-port": {"next": f"{self.elsewhere}/cthings-api/v3/device?page=2"},
            "last-page-elsewhere": {"next": f"{own}?page=2", "last": f"{self.elsewhere}/cthings-api/v3/device?page=3"},
            "outside-the-path-prefix": {"next": f"{self.base}/admin/v3/device?page=2"},
            "dot-segments": {"next": f"{self.base}/{case}/cthings-api/%2e%2e/%2e%2e/admin?page=2"},
            "scheme-downgrade": {"next": own.replace("https://", "http://") + "?page=2"},
            "relative-link": {"next": f"/{case}/cthings-api/v3/device?page=2"},
        }[case]
        return Reply(200, envelope([DEVICE], links))


def test_item1_page_links_outside_api_url_are_refused_and_get_no_token(emulator, raw_server, ansible, tmp_path, scenario_vars):
    elsewhere = raw_server(lambda request: Reply(200, envelope([], {"next": None})))
    hostile = HostileLinks(elsewhere.base_url)
    plain = raw_server(hostile)
    cert, key = self_signed_certificate(tmp_path / "tls")
    tls_behaviour = HostileLinks(elsewhere.base_url)
    tls = raw_server(tls_behaviour, tls=server_tls_context(cert, key))
    hostile.base, tls_behaviour.base = plain.base_url, tls.base_url

    refused = ["another-port", "last-page-elsewhere", "outside-the-path-prefix", "dot-segments"]
    tasks = [{"name": case, "ctcloud.cloud.cthings_device_info": {"api_url": f"{plain.base_url}/{case}/cthings-api"}, "ignore_errors": True}
             for case in [*refused, "relative-link"]]
    tasks.append({"name": "scheme-downgrade", "ctcloud.cloud.cthings_device_info": {
        "api_url": f"{tls.base_url}/scheme-downgrade/cthings-api", "validate_certs": False}, "ignore_errors": True})
    run = ansible.playbook(tasks_playbook(tmp_path / "links.yml", tasks), scenario_vars(emulator, tmp_path / "store" / "tokens.json"))

    assert elsewhere.requests == [], [f"{request.target} authorization={'authorization' in request.headers}" for request in elsewhere.requests]
    assert tls.handshake_failures == 0, "a page was requested over plain http from the TLS server: its token crossed in cleartext"
    for case in [*refused, "scheme-downgrade"]:
        result = run.one(case)
        assert result.failed, f"{case}: {result.result}"
        assert "the reply names a page link outside api_url" in result.msg and "the access token is not sent there" in result.msg, result.msg

    def followed(server: Any) -> list[str]:
        """Every request after a first page: what a page link made the module fetch."""
        return [request.target for request in server.requests if request.query.get("page") or not request.path.endswith("/v3/device")]

    assert followed(plain) == ["/relative-link/cthings-api/v3/device?page=2"]
    assert followed(tls) == []
    assert run.one("relative-link").result["devices"] == [DEVICE]


# ---- item 4: a token or secret with whitespace is refused, and never echoed ---------------------------------


def test_item4_tokens_and_secrets_with_whitespace_are_refused_without_echoing_them(emulator, raw_server, ansible, tmp_path, scenario_vars):
    halves = {name: (secrets.token_hex(12), secrets.token_hex(12)) for name in ("access", "refresh", "secret", "ct_issued", "cthings_issued")}

    def joined(name: str, separator: str = "\n") -> str:
        return separator.join(halves[name])

    def issuing(request: Request) -> Reply:
        """A token endpoint issuing tokens HTTP cannot carry in a header (a broken or hostile authorization server)."""
        if request.path.endswith("/ct-id/oauth/token"):
            return Reply(200, {"access_token": joined("ct_issued"), "token_type": "bearer", "expires_in": 7200,
                               "refresh_token": secrets.token_hex(16), "created_at": 1700000000})
        return Reply(200, {"access_token": joined("cthings_issued"), "expires_in": 3600, "scope": ["api"], "token_type": "Bearer"})

    issuer = raw_server(issuing)

    def store(case: str) -> str:
        return str(tmp_path / "stores" / case / "tokens.json")

    cases = [
        ("CT access token with a newline", "ct_location_info",
         {"access_token": joined("access"), "refresh_token": "", "token_store": store("access")}, "access_token contains whitespace"),
        ("CT refresh token with a trailing newline", "ct_location_info",
         {"refresh_token": joined("refresh", "") + "\n", "token_store": store("refresh")}, "refresh_token contains whitespace"),
        ("cThings client secret with a space", "cthings_device_info",
         {"client_secret": joined("secret", " "), "token_store": store("secret")}, "client_secret contains whitespace"),
        ("CT token endpoint issuing a token with a newline", "ct_location_info",
         {"auth_url": f"{issuer.base_url}/ct-id", "token_store": store("ct-issued")}, "issued an access token with whitespace"),
        ("cThings token endpoint issuing a token with a newline", "cthings_device_info",
         {"auth_url": f"{issuer.base_url}/cthings-auth/token", "token_store": store("cthings-issued")}, "issued an access token with whitespace"),
    ]
    tasks = [{"name": name, f"ctcloud.cloud.{module}": args, "ignore_errors": True} for name, module, args, _says in cases]
    before = api_requests(emulator.stats())
    run = ansible.playbook(tasks_playbook(tmp_path / "whitespace.yml", tasks), scenario_vars(emulator, store("shared")), verbosity=3,
                           stats_url=f"{emulator.admin_url}/stats")

    for name, _module, _args, says in cases:
        result = run.one(name)
        assert result.failed and says in result.msg, f"{name}: {result.result}"
        assert result.python_traceback() is None, result.result
    assert api_requests(run.results[-1].emulator_stats) == before, "a request reached the emulator"
    leaks = find_leaks({"stdout": run.stdout, "stderr": run.stderr, "results": run.text()},
                       {half: f"{name} half" for name, pair in halves.items() for half in pair})
    assert leaks == [], "\n".join(leaks)
    for case in ("ct-issued", "cthings-issued"):
        assert not Path(store(case)).exists() or all(half not in Path(store(case)).read_text() for pair in halves.values() for half in pair)


# ---- item 2: meraki_secret never reaches results, diffs, output or the inventory cache ----------------------


def test_item2_meraki_secret_is_masked_in_every_result_and_in_the_inventory_cache(start_emulator, raw_server, ansible, tmp_path, scenario_vars):
    emulator = start_emulator(locations=20)  # with seed 7, two of twenty locations have a meraki_secret
    secret_locations = [location for location in emulator.state()["locations"] if location["meraki_secret"]]
    assert secret_locations, "the seed gives no location a meraki_secret: this test would prove nothing"
    secret_location = secret_locations[0]
    secrets_of_ct = {location["meraki_secret"] for location in secret_locations}
    tasks = [
        {"name": "list every location", "ctcloud.cloud.ct_location_info": {}, "register": "listed"},
        {"name": "change one location", "ctcloud.cloud.ct_location": {"id": secret_location["id"], "phone": "+44 1632 960999"}},
        {"name": "declare the set", "ctcloud.cloud.ct_locations": {
            "locations": [{"id": location["id"], "phone": "+44 1632 960111"} for location in secret_locations]}},
        {"name": "one location's voucher batches", "ctcloud.cloud.ct_voucher_info": {"location": secret_location["id"]}},
        {"name": "show what was registered", "ansible.builtin.debug": {"var": "listed"}},
    ]
    run = ansible.playbook(tasks_playbook(tmp_path / "locations.yml", tasks), scenario_vars(emulator, tmp_path / "s" / "tokens.json"),
                           verbosity=3, diff=True).check()
    assert any(location.get("meraki_secret") == "********" for location in run.result("list every location")["locations"])
    assert run.result("change one location")["location"]["meraki_secret"] == "********"
    assert all(location["meraki_secret"] == "********" for location in run.result("declare the set")["locations"])
    assert run.result("one location's voucher batches")["location"]["meraki_secret"] == "********"

    # The ct_boxes inventory, cached: a box record that carries a location with its secret (a server may embed more
    # than the contract promises) is cached, and listed, masked.
    def boxes(request: Request) -> Reply:
        box = {"id": 7, "slug": "ap-embedded", "state": "online", "calledstationid": "00:18:0A:00:00:07", "wan_ip": "127.0.0.7",
               "location_slug": secret_location["slug"], "location": {"id": secret_location["id"], "meraki_secret": secret_location["meraki_secret"]}}
        return Reply(200, {"boxes": [box], "_links": {"current_page": 1, "total_pages": 1, "next_page": None, "total_entries": 1}})

    box_api = raw_server(boxes)
    cache_dir = tmp_path / "inventory-cache"
    config = tmp_path / "cached.ct_boxes.yml"
    config.write_text(json.dumps({"plugin": "ctcloud.cloud.ct_boxes", "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                                  "cache_connection": str(cache_dir)}), encoding="utf-8")
    env = {**emulator.environment(tmp_path / "inventory" / "tokens.json"), "CT_API_URL": f"{box_api.base_url}/ct-api/api/v1",
           "CT_REFRESH_TOKEN": emulator.fresh_refresh_token()}
    inventory = ansible.inventory([config], env=env, verbosity=3)
    assert inventory.rc == 0, inventory.describe()
    cached = "\n".join(path.read_text(encoding="utf-8") for path in cache_dir.rglob("*") if path.is_file())
    assert "ap-embedded" in cached, "nothing was cached: this check would prove nothing"

    texts = {"playbook": run.text(), "inventory stdout": inventory.stdout, "inventory stderr": inventory.stderr, "inventory cache": cached}
    leaks = find_leaks(texts, {secret: f"meraki_secret {secret[:4]}..." for secret in secrets_of_ct})
    assert leaks == [], "\n".join(leaks)


# ---- item 5: ct_auth binds the code to its own step 1 (state), optionally with PKCE --------------------------


def test_item5_ct_auth_accepts_only_a_code_its_own_step_one_started(emulator, ansible, tmp_path, scenario_vars):
    store = tmp_path / "auth" / "tokens.json"
    redirect_uri = emulator.ct["redirect_uri"]
    # Someone else's authorization: a link that lands on our redirect URI with their code (and their state, or none).
    # Exchanged, it would sign every later play into their account.
    attackers_code = emulator.authorization_code(state="the-attackers-own-state")
    attackers_url = f"{redirect_uri}?code={attackers_code}&state=the-attackers-own-state"
    planted = tasks_playbook(tmp_path / "planted.yml", [{"name": "someone else's code", "ctcloud.cloud.ct_auth": {
        "redirect_uri": redirect_uri, "token_store": str(store), "code": attackers_url}, "ignore_errors": True}])
    refused = ansible.playbook(planted, scenario_vars(emulator, tmp_path / "unused" / "tokens.json")).one("someone else's code")
    assert refused.failed, f"a code no step 1 of this token store started was exchanged: {refused.result}"
    assert emulator.stats()["token_requests"]["ct"]["authorization_code"] == 0

    begin = tasks_playbook(tmp_path / "begin.yml", [
        {"name": "step 1", "ctcloud.cloud.ct_auth": {"redirect_uri": redirect_uri, "token_store": str(store)}},
        {"name": "step 1 with PKCE", "ctcloud.cloud.ct_auth": {"redirect_uri": redirect_uri, "token_store": str(store), "pkce": True}},
    ])
    started = ansible.playbook(begin, scenario_vars(emulator, tmp_path / "unused" / "tokens.json")).check()
    plain, pkce = started.result("step 1"), started.result("step 1 with PKCE")
    assert plain["state"] != pkce["state"]
    challenge = parse_qs(urlsplit(pkce["authorize_url"]).query)
    assert challenge["code_challenge_method"] == ["S256"] and "code_challenge" not in parse_qs(urlsplit(plain["authorize_url"]).query)

    landed_plain, landed_pkce = emulator.landed_url(plain["authorize_url"]), emulator.landed_url(pkce["authorize_url"])

    def exchange(name: str, code: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "ctcloud.cloud.ct_auth": {"redirect_uri": redirect_uri, "token_store": str(store), "code": code, **extra},
                "ignore_errors": True}

    tasks = [
        exchange("a code from someone else's authorization, with a step 1 pending", attackers_url),
        exchange("a bare code without a state", attackers_code),
        exchange("our URL with another state given", landed_plain, state=pkce["state"]),
        exchange("our code, our state", landed_plain),
        exchange("our code and state again", landed_plain),
        exchange("our PKCE code, our state", landed_pkce),
    ]
    before = emulator.stats()["token_requests"]["ct"]["authorization_code"]
    run = ansible.playbook(tasks_playbook(tmp_path / "exchange.yml", tasks), scenario_vars(emulator, tmp_path / "unused" / "tokens.json"),
                           stats_url=f"{emulator.admin_url}/stats")

    expected_refusals = {
        "a code from someone else's authorization, with a step 1 pending": "state does not match an authorization started by step 1",
        "a bare code without a state": "state is required with a bare code",
        "our URL with another state given": "belongs to another authorization",
        "our code and state again": "state does not match an authorization started by step 1",
    }
    exchanges = before
    for task in tasks:
        result = run.one(task["name"])
        if task["name"] in expected_refusals:
            assert result.failed and expected_refusals[task["name"]] in result.msg, f"{task['name']}: {result.result}"
            assert result.emulator_stats["token_requests"]["ct"]["authorization_code"] == exchanges, f"{task['name']}: a code was sent"
        else:
            assert not result.failed and result.result["changed"], f"{task['name']}: {result.result}"
            exchanges += 1
            assert result.emulator_stats["token_requests"]["ct"]["authorization_code"] == exchanges
    # The PKCE exchange sent the verifier the emulator checked against the challenge (else invalid_grant); nothing failed.
    assert emulator.stats()["token_errors"] == {}
    stored = store_entries(store)
    assert stored[f"ct-authorize|{emulator.ct['auth_url']}|{emulator.ct['client_id']}"] == {"pending": {}}  # both states used up
    assert stored_ct_entry(store)["refresh_token"]


# ---- item 7: no example invites a commit of a token store ------------------------------------------------------

# Where a checkout lives: a store there can be committed by mistake, or planted by a pull request (a file the CI's own
# checkout wrote belongs to the CI user and passes every ownership check).
PROJECT_DIRECTORIES = ("playbook_dir", "inventory_dir", "role_path", "github.workspace", "GITHUB_WORKSPACE", "CI_PROJECT_DIR",
                       "CI_BUILDS_DIR", "WORKSPACE", "BUILD_SOURCESDIRECTORY", "Build.SourcesDirectory", "BITBUCKET_CLONE_DIR",
                       "CIRCLE_WORKING_DIRECTORY", "$PWD", "$(pwd)", "lookup('env', 'PWD')")
STORE_SETTINGS = re.compile(r"""(?:\btoken_store\b|\bCTCLOUD_TOKEN_STORE\b)["']?[ \t]*[:=][ \t]*(?P<value>\S.*)""")


def example_texts() -> dict[str, str]:
    """What a user copies: module and plugin EXAMPLES, code blocks in docs/ and the README, the playbooks."""
    root = collection_root()
    assert root is not None
    texts = {}
    for path in sorted((root / "plugins").glob("*/*.py")):
        examples = re.search(r'^EXAMPLES = r?"""(.*?)^"""', path.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
        if examples:
            texts[str(path.relative_to(root))] = examples.group(1)
    for path in [*sorted((root / "docs").rglob("*.md")), root / "README.md"]:
        texts[str(path.relative_to(root))] = "\n".join(re.findall(r"^```[\w-]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE))
    for path in [*sorted((root / "playbooks").rglob("*.yml")), *sorted((root / "docs").rglob("*.yml"))]:
        texts[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
    return texts


def test_item7_no_example_puts_a_token_store_where_a_repository_could_take_it():
    settings = [(where, match.group("value").strip().strip("'\"")) for where, text in example_texts().items() for line in text.splitlines()
                for match in STORE_SETTINGS.finditer(re.sub(r"(^|\s)#.*", "", line))]  # comments set nothing
    assert any(where.startswith("docs/") for where, _value in settings), "no example sets a token store: this check would prove nothing"
    in_project = [f"{where}: {value}" for where, value in settings
                  if any(marker in value for marker in PROJECT_DIRECTORIES) or not value.startswith(("/", "~", "$", "{{", "<"))]
    assert in_project == [], "token stores inside a project or CI workspace:\n" + "\n".join(in_project)

    root = collection_root()
    assert root is not None
    docs = "\n".join(path.read_text(encoding="utf-8") for path in sorted((root / "docs").rglob("*.md")))
    gitignore_blocks = re.findall(r"```gitignore\n(.*?)```", docs, re.DOTALL)
    assert any(".ctcloud/" in block and "tokens.json" in block for block in gitignore_blocks), \
        "docs/ shows no .gitignore lines for a token store that could end up in a repository"


# ---- item 8: docs/security.md, each guarantee with the test that proves it ------------------------------------


def test_item8_security_md_names_an_existing_test_for_every_guarantee():
    root = collection_root()
    assert root is not None
    page = root / "docs" / "security.md"
    assert page.is_file(), "docs/security.md is missing"
    text = page.read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    cited += [(path, name) for path, names in re.findall(r"`(tests/[\w/]+\.py)` \(([^)]*)\)", text) for name in re.findall(r"`(\w+)`", names)]
    assert len(cited) >= 20, cited
    missing = []
    for path, name in cited:
        source = root / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == [], f"docs/security.md cites tests that do not exist: {missing}"
    this_file = Path(__file__).read_text(encoding="utf-8")
    own = re.findall(r"^def (test_item\d\w*)\(", this_file, re.MULTILINE)
    uncited = [name for name in own if f"tests/system/test_security.py::{name}" not in text]
    assert uncited == [], f"guarantees proved here but not in docs/security.md: {uncited}"
    assert {name[len("test_item")] for name in own} == set("12345678")
