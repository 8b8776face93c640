# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark suite of the ctcloud.cloud collection: measured ratios against what users write today and against the floor.

Starts its own emulators (127.0.0.1, a free port, stopped at exit), runs every
scenario several times with the variants it compares interleaved within each
repetition (in a rotating order), and prints a table of medians (min-max) and
ratios. HTTP request counts come from the emulator's counters, which are exact.
Times are reported, never asserted: this is no pass/fail test, and the machines
it runs on are shared and noisy.

    python3 tools/bootstrap.py -s bench                        # every scenario, 3 repetitions
    python3 tools/bootstrap.py -s bench -- --only inventory,one_get --repeat 5
    python3 tools/bootstrap.py -s bench -- --smoke                # tiny sizes, 1 repetition: proves the script works
    python tests/benchmark/run.py --help              # in a venv with ansible-core

Raw results go to tests/benchmark/results/<timestamp>.json (and --json PATH).
docs/performance.md explains each scenario and shows a run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from harness import REPO, Ansible, BenchError, Counts, Emulator, install_signal_handlers, load_average, rotated, summary
from inventory_floor import Measurement, measure, write_floor

HERE = Path(__file__).resolve().parent
PLAYBOOKS = HERE / "playbooks"
RESULTS = HERE / "results"

# docs/api-contract.md: CT pages hold at most 100 records, cThings pages 1000.
CT_PER_PAGE = 100


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is. The defaults are issue 6's; --smoke shrinks them."""

    repeat: int = 3
    locations: int = 1000  # scenario 1: declared locations
    loop_items: int = 50  # scenario 1: items the looped variants run per repetition (per-item cost x locations)
    drift: int = 10  # scenario 1: entries that differ from the API
    token_tasks: int = 50  # scenario 2: cThings tasks in one playbook
    get_pairs: int = 10  # scenario 4: module/uri task pairs per playbook
    devices: int = 10000  # scenario 3: inventory hosts
    boxes: int = 100  # scenario 5: boxes rebooted
    batch_size: int = 25  # scenario 5: boxes rebooting at once
    reboot_loop_items: int = 5  # scenario 5: one-box reboots the loop runs per repetition
    reboot_delay: float = 2.0  # scenario 5: seconds a box takes to come back
    scaling: tuple[int, ...] = (1000, 10000, 50000)  # scenario 6: device counts
    per_task: int = 50  # scenario 7: tasks in each sequence
    full_size: bool = True  # the sizes: timing targets are judged


SMOKE = Sizes(
    repeat=1, locations=30, loop_items=3, drift=3, token_tasks=5, get_pairs=2, devices=300, boxes=6, batch_size=3,
    reboot_loop_items=2, reboot_delay=0.3, scaling=(100, 300, 1000), per_task=3, full_size=False,
)


# --------------------------------------------------------------------------- the benchmark


class Bench:
    """Shared state of one benchmark run: sizes, ansible, the emulators, the results."""

    def __init__(self, args: argparse.Namespace, sizes: Sizes, work: Path) -> None:
        self.args = args
        self.sizes = sizes
        self.work = work
        self.ansible = Ansible(Path(args.ansible_bin), args.collections_path, work)
        self._ct: Emulator | None = None
        self._inventory: Emulator | None = None

    # -- emulators

    def ct_emulator(self) -> Emulator:
        """CT locations and boxes, and a few cThings devices: scenarios 1, 2, 4 and 5."""
        if self._ct is None:
            sizes = self.sizes
            self._ct = Emulator(
                "ct", self.work, locations=sizes.locations, boxes=max(2 * sizes.boxes, 50),
                devices=max(sizes.token_tasks, 2 * sizes.get_pairs + 1, sizes.per_task, 100), reboot_delay=sizes.reboot_delay,
            )
        return self._ct

    def inventory_emulator(self, devices: int) -> Emulator:
        """cThings devices only: scenarios 3 and 6 (reseeded to each size)."""
        if self._inventory is None:
            self._inventory = Emulator("inventory", self.work, locations=0, boxes=0, devices=devices)
            self._inventory_devices = devices
        elif self._inventory_devices != devices:
            self._inventory.reset(seed={"devices": devices})
            self._inventory_devices = devices
        return self._inventory

    def stop_emulators(self) -> None:
        for emulator in (self._ct, self._inventory):
            if emulator is not None:
                emulator.stop()
        self._ct = self._inventory = None

    # -- the collection under test

    def collection_file(self, relative: str) -> Path | None:
        """The file of the collection under test (as ansible finds it), or None if it does not exist there."""
        for root in self.args.collections_path.split(os.pathsep):
            candidate = Path(root) / "ansible_collections" / "ctcloud" / "cloud" / relative
            if candidate.exists():
                return candidate
        return None

    def run_env(self, emulator: Emulator, **extra: str) -> dict[str, str]:
        env = emulator.env()
        env["CTCLOUD_TOKEN_STORE"] = self.ansible.fresh_token_store()
        env.update(extra)
        return env


class Report:
    """One scenario's rows of the table, targets, and raw results."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[dict[str, object]] = []
        self.targets: list[dict[str, object]] = []
        self.notes: list[str] = []
        self.raw: dict[str, object] = {}
        self.status = "ok"

    def row(self, variant: str, seconds: dict | None = None, requests: object = "", ratio: str = "", note: str = "") -> None:
        self.rows.append({"variant": variant, "seconds": seconds, "requests": requests, "ratio": ratio, "note": note})

    def target(self, name: str, measured: str, met: bool | None) -> None:
        """``met`` None: not judged (the timing targets at smoke sizes)."""
        self.targets.append({"target": name, "measured": measured, "met": met})

    def as_dict(self) -> dict[str, object]:
        return {"title": self.title, "status": self.status, "rows": self.rows, "targets": self.targets, "notes": self.notes, "raw": self.raw}


def judged(bench: Bench, met: bool) -> bool | None:
    """A timing target is judged at the issue's sizes only."""
    return met if bench.sizes.full_size else None


def ratio_text(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}x"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def seconds_of(runs: list) -> dict[str, object]:
    return summary([run.seconds for run in runs])


# --------------------------------------------------------------------------- scenario 1: locations


LOCATION_FIELDS = (  # module option -> API field (docs/api-contract.md, "Locations")
    ("name", "location_name"), ("address", "location_address"), ("street", "street"), ("town", "town"), ("postcode", "postcode"),
    ("phone", "phone1"), ("website", "location_website"), ("location_type", "location_type"), ("timezone", "timezone"),
    ("development_mode", "development_mode"), ("daily_limit", "daily_limit"), ("latitude", "lat"), ("longitude", "lng"),
)


def declared_sites(locations: list[dict]) -> tuple[list[dict], list[dict]]:
    """The seeded locations as a user would declare them: module entries, and API bodies for the uri playbook."""
    sites, bodies = [], []
    for location in locations:
        entry = {option: location[api] for option, api in LOCATION_FIELDS if location.get(api) is not None}
        entry["state"] = "archived" if location["archived"] else "present"
        sites.append(entry)
        body = {api: location[api] for _option, api in LOCATION_FIELDS if location.get(api) is not None}
        body["state"] = location["state"]
        bodies.append(body)
    return sites, bodies


def drifted(sites: list[dict], count: int) -> list[dict]:
    """The same declaration with ``count`` entries, spread over the list, asking for a new phone number."""
    changed = [dict(site) for site in sites]
    step = max(len(sites) // max(count, 1), 1)
    for number, index in enumerate(range(0, step * count, step)):
        changed[index]["phone"] = f"+44 20 7946 {number:04d}"
    return changed


def scenario_locations(bench: Bench, report: Report) -> None:
    sizes, ansible = bench.sizes, bench.ansible
    emulator = bench.ct_emulator()
    total = sizes.locations
    sites, bodies = declared_sites(emulator.state()["locations"])
    assert len(sites) == total, (len(sites), total)
    items = min(sizes.loop_items, total)
    connection = ansible.write_vars("ct-connection", emulator.playbook_vars())
    files = {
        "set": ansible.write_vars("sites-all", {"sites": sites}),
        "set_drift": ansible.write_vars("sites-drift", {"sites": drifted(sites, sizes.drift)}),
        "loop": ansible.write_vars("sites-loop", {"sites": sites[:items]}),
        "uri": ansible.write_vars("sites-uri", {"sites_api": bodies[:items]}),
    }
    variants = {
        "set": (PLAYBOOKS / "locations_set.yml", [files["set"]]),
        "set_drift": (PLAYBOOKS / "locations_set.yml", [files["set_drift"]]),
        "loop": (PLAYBOOKS / "locations_loop.yml", [files["loop"]]),
        "uri": (PLAYBOOKS / "locations_uri.yml", [files["uri"], connection]),
    }
    loop_tasks = {"loop": ("Keep each location",), "uri": ("Look each location", "Update the locations", "Create the locations")}
    runs: dict[str, list] = {name: [] for name in variants}
    counts: dict[str, list[Counts]] = {name: [] for name in variants}
    extrapolated: dict[str, list[float]] = {"loop": [], "uri": []}
    per_item: dict[str, list[float]] = {"loop": [], "uri": []}
    speedups: dict[str, list[float]] = {"loop": [], "uri": []}
    for repetition in range(sizes.repeat):
        this: dict[str, object] = {}
        for name in rotated(list(variants), repetition):
            playbook, var_files = variants[name]
            emulator.reset()  # seed data, zero counters, the start line's refresh token
            run = ansible.playbook(playbook, var_files, bench.run_env(emulator), f"locations-{name}")
            runs[name].append(run)
            counts[name].append(Counts.from_stats(emulator.stats()))
            this[name] = run
        for name in ("loop", "uri"):
            run = this[name]
            looping = sum(run.task_seconds(prefix) for prefix in loop_tasks[name])
            cost = looping / items
            per_item[name].append(cost)
            # What the looped playbook would take for every location: measured at `items`, plus the rest at the measured per-item cost.
            extrapolated[name].append(run.seconds + cost * (total - items))
            speedups[name].append(extrapolated[name][-1] / this["set"].seconds)
    full: dict[str, object] = {}
    if bench.args.full_loops and items < total:
        for name, (playbook, var_files) in (
            ("loop", (PLAYBOOKS / "locations_loop.yml", [files["set"]])),
            ("uri", (PLAYBOOKS / "locations_uri.yml", [ansible.write_vars("sites-uri-all", {"sites_api": bodies}), connection])),
        ):
            emulator.reset()
            run = ansible.playbook(playbook, var_files, bench.run_env(emulator), f"locations-{name}-all")
            full[name] = {"seconds": round(run.seconds, 3), "counts": Counts.from_stats(emulator.stats()).as_dict()}

    def requests(name: str) -> list[int]:
        return [count.requests for count in counts[name]]

    def writes(name: str) -> list[int]:
        return [count.writes for count in counts[name]]

    def extrapolated_requests(name: str) -> int:
        count = counts[name][0]
        return count.token_requests + round((count.requests - count.token_requests) / items * total)

    set_requests = max(requests("set"))
    request_target = math.ceil(total / CT_PER_PAGE) + 1
    report.row(f"ct_locations, {total:,} declared, no drift", seconds_of(runs["set"]), set_requests, "1.00x", f"{max(writes('set'))} writes")
    extra = [drift - plain for drift, plain in zip(requests("set_drift"), requests("set"), strict=True)]
    report.row(
        f"ct_locations, {sizes.drift} drifted", seconds_of(runs["set_drift"]), max(requests("set_drift")),
        ratio_text(median([a.seconds / b.seconds for a, b in zip(runs["set_drift"], runs["set"], strict=True)])),
        f"{max(writes('set_drift'))} writes, +{max(extra)} requests",
    )
    labels = {"loop": "loop of ct_location", "uri": "ansible.builtin.uri loop (GET, then PATCH/POST)"}
    for name in ("loop", "uri"):
        report.row(
            f"{labels[name]}, measured at {items}", seconds_of(runs[name]), max(requests(name)), "",
            f"{median(per_item[name]):.3f} s per location",
        )
        report.row(
            f"{labels[name]}, {total:,} EXTRAPOLATED", summary(extrapolated[name]), f"~{extrapolated_requests(name):,}",
            ratio_text(median(speedups[name]), 1), "measured run + per-location cost x the rest",
        )
        if name in full:
            run = full[name]
            report.row(
                f"{labels[name]}, {total:,} measured once", summary([run["seconds"]]), run["counts"]["requests"],
                ratio_text(run["seconds"] / median([r.seconds for r in runs["set"]]), 1), "one run, not a median",
            )
    report.target(f"ct_locations no drift: HTTP requests <= {request_target}", str(set_requests), set_requests <= request_target)
    report.target("ct_locations no drift: 0 writes", str(max(writes("set"))), max(writes("set")) == 0)
    # The uri loop is a fair comparison only if it, too, writes nothing when nothing drifted.
    report.target("uri loop no drift: 0 writes", str(max(writes("uri"))), max(writes("uri")) == 0)
    exact = all(value == sizes.drift for value in extra) and all(value == sizes.drift for value in writes("set_drift"))
    report.target(f"{sizes.drift} drifted: exactly {sizes.drift} writes (and requests) more", f"writes {writes('set_drift')}, requests +{extra}", exact)
    uri_speedup = median(speedups["uri"])
    report.target(f"ct_locations >= 50x faster than the uri loop (extrapolated from {items})", f"{uri_speedup:.1f}x", judged(bench, uri_speedup >= 50))
    if "uri" in full:
        measured = full["uri"]["seconds"] / median([r.seconds for r in runs["set"]])
        report.target(f"... and against the uri loop measured at {total:,} (once)", f"{measured:.1f}x", judged(bench, measured >= 50))
    report.raw = {
        "locations": total, "loop_items": items, "drift": sizes.drift,
        "seconds": {name: [round(run.seconds, 3) for run in values] for name, values in runs.items()},
        "counts": {name: [count.as_dict() for count in values] for name, values in counts.items()},
        "per_item_seconds": per_item, "extrapolated_seconds": extrapolated, "speedups": speedups, "full_loops": full,
    }


# --------------------------------------------------------------------------- scenario 2: token requests


def yaml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML string


def play(name: str, tasks: list[str], extra_vars: str = "") -> str:
    return (
        f"---\n- name: {yaml_string(name)}\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  vars:\n    ansible_python_interpreter: \"{{{{ ansible_playbook_python }}}}\"\n{extra_vars}"
        "  tasks:\n" + "".join(tasks)
    )


def module_get_task(name: str, device_id: str) -> str:
    return f"    - name: {yaml_string(name)}\n      ctcloud.cloud.cthings_device_info:\n        id: {yaml_string(device_id)}\n"


def uri_token_task(name: str) -> str:
    return (
        f"    - name: {yaml_string(name)}\n      ansible.builtin.uri:\n        url: \"{{{{ cthings_auth_url }}}}\"\n        method: POST\n"
        "        url_username: \"{{ cthings_client_id }}\"\n        url_password: \"{{ cthings_client_secret }}\"\n"
        "        force_basic_auth: true\n        body_format: form-urlencoded\n"
        "        body:\n          grant_type: client_credentials\n          scope: api\n"
        "      register: cthings_token\n      no_log: true\n"
    )


def uri_get_task(name: str, device_id: str) -> str:
    return (
        f"    - name: {yaml_string(name)}\n      ansible.builtin.uri:\n"
        f"        url: \"{{{{ cthings_api_url }}}}/v3/device/{device_id}\"\n"
        "        headers:\n          Authorization: \"Bearer {{ cthings_token.json.access_token }}\"\n"
    )


def scenario_tokens(bench: Bench, report: Report) -> None:
    sizes, ansible = bench.sizes, bench.ansible
    emulator = bench.ct_emulator()
    ids = [device["id"] for device in emulator.state(devices=True)["devices"][: sizes.token_tasks]]
    generated = bench.work / "playbooks"
    generated.mkdir(exist_ok=True)
    module_playbook = generated / "tokens_module.yml"
    module_playbook.write_text(play(f"{len(ids)} cThings tasks", [module_get_task(f"Device {n}", i) for n, i in enumerate(ids)]))
    naive_playbook = generated / "tokens_uri.yml"
    naive_playbook.write_text(play(
        f"{len(ids)} cThings tasks, each with its own token request (ansible.builtin.uri)",
        [uri_token_task(f"Token for device {n}") + uri_get_task(f"Device {n}", i) for n, i in enumerate(ids)],
    ))
    connection = ansible.write_vars("cthings-connection", emulator.playbook_vars())
    variants = {"module": (module_playbook, []), "naive": (naive_playbook, [connection])}
    runs: dict[str, list] = {name: [] for name in variants}
    counts: dict[str, list[Counts]] = {name: [] for name in variants}
    for repetition in range(sizes.repeat):
        for name in rotated(list(variants), repetition):
            playbook, var_files = variants[name]
            emulator.reset(data=False)  # counters and tokens; a fresh, empty token store per run
            runs[name].append(ansible.playbook(playbook, var_files, bench.run_env(emulator), f"tokens-{name}"))
            counts[name].append(Counts.from_stats(emulator.stats()))
    module_tokens = [count.token_requests for count in counts["module"]]
    naive_tokens = [count.token_requests for count in counts["naive"]]
    report.row(
        f"{len(ids)} cthings_device_info tasks, shared token store", seconds_of(runs["module"]), max(c.requests for c in counts["module"]),
        "1.00x", f"token requests {max(module_tokens)}",
    )
    report.row(
        f"{len(ids)} tasks with per-task auth (uri: token + GET each)", seconds_of(runs["naive"]), max(c.requests for c in counts["naive"]),
        ratio_text(median([a.seconds / b.seconds for a, b in zip(runs["naive"], runs["module"], strict=True)])), f"token requests {max(naive_tokens)}",
    )
    report.target(f"{len(ids)} cThings tasks: exactly 1 token request", f"{module_tokens} (naive: {naive_tokens})", all(value == 1 for value in module_tokens))
    report.raw = {
        "tasks": len(ids), "seconds": {name: [round(run.seconds, 3) for run in values] for name, values in runs.items()},
        "counts": {name: [count.as_dict() for count in values] for name, values in counts.items()},
    }


# --------------------------------------------------------------------------- scenario 4: one GET task


def scenario_one_get(bench: Bench, report: Report) -> None:
    sizes, ansible = bench.sizes, bench.ansible
    emulator = bench.ct_emulator()
    ids = [device["id"] for device in emulator.state(devices=True)["devices"][: sizes.get_pairs + 1]]
    tasks = [module_get_task("Warm-up: the token store gets its token", ids[0]), uri_token_task("Warm-up: a token for uri")]
    for pair, device_id in enumerate(ids[1:]):
        module = module_get_task(f"module {pair}", device_id)
        uri = uri_get_task(f"uri {pair}", device_id)
        tasks += [module, uri] if pair % 2 == 0 else [uri, module]  # neither always runs first
    playbook = bench.work / "playbooks" / "one_get.yml"
    playbook.parent.mkdir(exist_ok=True)
    playbook.write_text(play(f"One GET, {sizes.get_pairs} times each way, interleaved", tasks))
    connection = ansible.write_vars("cthings-connection", emulator.playbook_vars())
    module_seconds: list[float] = []
    uri_seconds: list[float] = []
    ratios: list[float] = []
    counts = []
    for _repetition in range(sizes.repeat):
        emulator.reset(data=False)
        run = ansible.playbook(playbook, [connection], bench.run_env(emulator), "one-get")
        counts.append(Counts.from_stats(emulator.stats()))
        for pair in range(sizes.get_pairs):
            module, uri = run.task_seconds(f"module {pair}"), run.task_seconds(f"uri {pair}")
            module_seconds.append(module)
            uri_seconds.append(uri)
            ratios.append(module / uri)
    gets = counts[0].by_route.get("GET /cthings-api/v3/device/<device_id>", None)
    report.row("cthings_device_info id=<uuid> (token in the store)", summary(module_seconds), 1, ratio_text(median(ratios)), "per task")
    report.row("ansible.builtin.uri GET with a bearer token", summary(uri_seconds), 1, "1.00x", "per task")
    ratio = median(ratios)
    report.target("one GET task: module <= 1.1x the uri task (median of pair ratios)", ratio_text(ratio, 3), judged(bench, ratio <= 1.1))
    report.notes.append(
        f"{sizes.get_pairs} module/uri pairs per playbook x {sizes.repeat} playbooks; each pair GETs the same device;"
        f" device GETs counted by the emulator: {gets} per playbook (expected {2 * sizes.get_pairs + 1})."
    )
    report.raw = {"module_seconds": module_seconds, "uri_seconds": uri_seconds, "pair_ratios": ratios, "counts": [c.as_dict() for c in counts]}


# --------------------------------------------------------------------------- scenario 5: reboot


def scenario_reboot(bench: Bench, report: Report) -> None:
    sizes, ansible = bench.sizes, bench.ansible
    if bench.collection_file("plugins/modules/ct_box_reboot.py") is None:
        report.status = "not available yet"
        report.notes.append("ctcloud.cloud.ct_box_reboot does not exist in the collection under test yet.")
        return
    emulator = bench.ct_emulator()
    emulator.configure(reboot_delay=sizes.reboot_delay)
    boxes = [box for box in emulator.state()["boxes"] if box["state"] == "online"][: sizes.boxes]
    if len(boxes) < sizes.boxes:
        raise BenchError(f"the emulator has {len(boxes)} online boxes, {sizes.boxes} needed")
    slugs = [box["slug"] for box in boxes]
    items = min(sizes.reboot_loop_items, len(slugs))
    files = {
        "batched": ansible.write_vars("boxes-all", {"box_slugs": slugs, "box_batch_size": sizes.batch_size}),
        "loop": ansible.write_vars("boxes-loop", {"box_slugs": slugs[:items]}),
    }
    variants = {"batched": PLAYBOOKS / "reboot_batched.yml", "loop": PLAYBOOKS / "reboot_loop.yml"}
    runs: dict[str, list] = {name: [] for name in variants}
    counts: dict[str, list[Counts]] = {name: [] for name in variants}
    extrapolated: list[float] = []
    per_box: list[float] = []
    for repetition in range(sizes.repeat):
        this = {}
        for name in rotated(list(variants), repetition):
            emulator.reset()  # every box back online; counters; tokens (the reboot_delay knob is kept)
            run = ansible.playbook(variants[name], [files[name]], bench.run_env(emulator), f"reboot-{name}")
            runs[name].append(run)
            counts[name].append(Counts.from_stats(emulator.stats()))
            this[name] = run
        cost = this["loop"].task_seconds("Reboot one box") / items
        per_box.append(cost)
        extrapolated.append(this["loop"].seconds + cost * (len(slugs) - items))
    batches = math.ceil(len(slugs) / sizes.batch_size)
    ideal = sizes.reboot_delay * batches
    task = [run.task_seconds("Reboot the boxes") for run in runs["batched"]]
    reboots = [count.writes_by_kind["boxes"]["PATCH"] for count in counts["batched"]]
    report.row(
        f"ct_box_reboot, {len(slugs)} boxes, batch_size {sizes.batch_size}, wait", seconds_of(runs["batched"]),
        max(c.requests for c in counts["batched"]), ratio_text(median(task) / ideal), f"task {median(task):.2f} s; {max(reboots)} reboots",
    )
    report.row(f"loop of one-box ct_box_reboot, measured at {items}", seconds_of(runs["loop"]), max(c.requests for c in counts["loop"]), "",
               f"{median(per_box):.2f} s per box")
    report.row(f"loop of one-box ct_box_reboot, {len(slugs)} EXTRAPOLATED", summary(extrapolated), "",
               ratio_text(median([e / r.seconds for e, r in zip(extrapolated, runs["batched"], strict=True)]), 1), "measured run + per-box cost x the rest")
    overshoot = (median(task) - ideal) / batches
    report.target(
        f"batched reboot task ~ reboot delay x batches = {sizes.reboot_delay:g} s x {batches} = {ideal:g} s (judged: <= 1.25x)",
        f"{median(task):.2f} s ({median(task) / ideal:.2f}x; {overshoot:+.2f} s per batch)", judged(bench, median(task) <= ideal * 1.25),
    )
    report.target(f"every box rebooted exactly once ({len(slugs)} PATCHes)", str(reboots), all(value == len(slugs) for value in reboots))
    report.notes.append(
        f"the batched task's time over the ideal, per batch: {overshoot:.2f} s (sending {sizes.batch_size} reboots, polling until the last box"
        " of the batch is seen back; the module's pauses between polls grow by 1.25x from 0.2 s up to 5 s, module_utils/_resources/box.py REBOOT_POLL_GROWTH)."
    )
    report.raw = {
        "overshoot_per_batch_seconds": round(overshoot, 3),
        "boxes": len(slugs), "batch_size": sizes.batch_size, "reboot_delay": sizes.reboot_delay, "loop_items": items,
        "seconds": {name: [round(run.seconds, 3) for run in values] for name, values in runs.items()}, "task_seconds": task,
        "per_box_seconds": per_box, "extrapolated_seconds": extrapolated,
        "counts": {name: [count.as_dict() for count in values] for name, values in counts.items()},
    }


# --------------------------------------------------------------------------- scenario 7: per-task cost


# The sequences of scenario 7: what each of its tasks does, and how the table names it.
PER_TASK_SEQUENCES = {
    "debug": "ansible.builtin.debug (a task that does nothing)",
    "ping": "ansible.builtin.ping (the cheapest module)",
    "uri": "ansible.builtin.uri GET with a bearer token",
    "device": "ctcloud.cloud.cthings_device_info id=<uuid>",
    "location": "ctcloud.cloud.ct_location, existing, no change",
    "device_remote": "cthings_device_info as a module process (ctcloud_in_process: false)",
}
OURS = ("device", "location")


def location_task(name: str, site: dict) -> str:
    options = "".join(f"        {option}: {json.dumps(value)}\n" for option, value in site.items())  # JSON scalars are YAML
    return f"    - name: {yaml_string(name)}\n      ctcloud.cloud.ct_location:\n{options}"


def per_task_task(sequence: str, name: str, device_id: str, site: dict) -> str:
    if sequence == "debug":
        return f"    - name: {yaml_string(name)}\n      ansible.builtin.debug:\n        msg: {yaml_string(name)}\n"
    if sequence == "ping":
        return f"    - name: {yaml_string(name)}\n      ansible.builtin.ping:\n"
    if sequence == "uri":
        return uri_get_task(name, device_id)
    if sequence == "location":
        return location_task(name, site)
    return module_get_task(name, device_id)  # device, device_remote


def per_task_playbook(order: list[str], ids: list[str], sites: list[dict]) -> str:
    """One play per sequence, in ``order``, after a warm-up play that runs each kind of task once.

    The warm-up takes what a run pays once (tokens: the modules' in the token store, uri's from a
    token task; loading each action plugin and module) out of the sequences, which measure the cost
    of one more task.
    """
    warm_up = [uri_token_task("Warm-up: a token for uri")]
    warm_up += [per_task_task(sequence, f"Warm-up: {sequence}", ids[0], sites[0]) for sequence in PER_TASK_SEQUENCES if sequence != "device_remote"]
    plays = [play("Warm-up", warm_up)]
    for sequence in order:
        tasks = [per_task_task(sequence, f"{sequence} #{number}", ids[number], sites[number]) for number in range(len(ids))]
        extra = "    ctcloud_in_process: false\n" if sequence == "device_remote" else ""
        plays.append(play(f"{len(ids)} tasks: {PER_TASK_SEQUENCES[sequence]}", tasks, extra).removeprefix("---\n"))
    return "\n".join(plays)


def scenario_per_task(bench: Bench, report: Report) -> None:
    sizes, ansible = bench.sizes, bench.ansible
    emulator = bench.ct_emulator()
    state = emulator.state(devices=True)
    ids = [device["id"] for device in state["devices"][: sizes.per_task]]
    # Existing locations, declared with every field as they are: ct_location finds each one and changes nothing.
    sites = [site for site in declared_sites(state["locations"])[0] if site["state"] == "present"][: sizes.per_task]
    if len(ids) < sizes.per_task or len(sites) < sizes.per_task:
        raise BenchError(f"the emulator has {len(ids)} devices and {len(sites)} active locations, {sizes.per_task} of each needed")
    connection = ansible.write_vars("cthings-connection", emulator.playbook_vars())
    sequences = list(PER_TASK_SEQUENCES)
    seconds: dict[str, list[float]] = {sequence: [] for sequence in sequences}
    counts: list[Counts] = []
    for repetition in range(sizes.repeat):
        playbook = bench.work / "playbooks" / f"per_task_{repetition}.yml"
        playbook.parent.mkdir(exist_ok=True)
        playbook.write_text(per_task_playbook(rotated(sequences, repetition), ids, sites))
        emulator.reset(data=False)  # counters and tokens; a fresh, empty token store per run
        run = ansible.playbook(playbook, [connection], bench.run_env(emulator), "per-task")
        counts.append(Counts.from_stats(emulator.stats()))
        for sequence in sequences:
            seconds[sequence].append(run.task_seconds(f"{sequence} #"))

    def ratios(ours: str, reference: str) -> list[float]:
        return [a / b for a, b in zip(seconds[ours], seconds[reference], strict=True)]

    count = sizes.per_task
    for sequence in sequences:
        note = f"{1000 * median(seconds[sequence]) / count:.0f} ms per task"
        if sequence in OURS or sequence == "device_remote":
            note += f"; {median(ratios(sequence, 'ping')):.2f}x ping, {median(ratios(sequence, 'uri')):.2f}x uri"
        requests = {"debug": 0, "ping": 0}.get(sequence, count)
        report.row(f"{count} x {PER_TASK_SEQUENCES[sequence]}", summary(seconds[sequence]), requests,
                   ratio_text(median(ratios(sequence, "debug"))), note)
    for ours in OURS:
        label = PER_TASK_SEQUENCES[ours].removeprefix("ctcloud.cloud.")
        for reference, limit in (("ping", 0.5), ("uri", 0.35), ("debug", 4.0)):
            value = median(ratios(ours, reference))
            report.target(f"{label}: <= {limit:g}x the {reference} sequence", ratio_text(value), judged(bench, value <= limit))
    writes = [count_.writes for count_ in counts]
    tokens = [count_.token_requests for count_ in counts]
    report.target("every sequence: 0 writes", str(writes), all(value == 0 for value in writes))
    report.target("one token request per credential per run (CT refresh, cThings module, cThings for uri: 3)", str(tokens),
                  all(value == 3 for value in tokens))
    device_gets = [count_.by_route.get("GET /cthings-api/v3/device/<device_id>", 0) for count_ in counts]
    expected_gets = 3 * count + 2  # two module sequences and uri's, plus two warm-up reads
    report.target(f"one request per device task ({expected_gets} device GETs)", str(device_gets), all(value == expected_gets for value in device_gets))
    report.notes.append(
        f"one playbook per repetition: a warm-up play, then the {len(sequences)} sequences as plays in an order that rotates between"
        " repetitions; a sequence's time is the sum of its tasks' wall times (bench_timer), start-up excluded; ratios are medians of"
        " the per-repetition ratios."
    )
    report.raw = {
        "tasks_per_sequence": count, "seconds": seconds, "counts": [count_.as_dict() for count_ in counts],
        "ratios": {f"{ours}/{reference}": ratios(ours, reference) for ours in (*OURS, "device_remote") for reference in ("debug", "ping", "uri")},
    }


# --------------------------------------------------------------------------- scenarios 3 and 6: inventory


@dataclass
class InventorySetup:
    config: Path
    floor: Path
    plugin_list: Path
    yaml_file: Path | None
    env: dict[str, str]


SPLIT = re.compile(r"(\d+) hosts; records read from (?:the API|the cache) in ([\d.]+)s, hosts and groups built in ([\d.]+)s")


def inventory_setup(bench: Bench, emulator: Emulator, name: str, yaml_reference: bool) -> InventorySetup:
    """The plugin's config (cache on), a first cold run, the floor made of its output, and the YAML reference."""
    directory = bench.work / name
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "bench.cthings.yml"
    config.write_text(
        "plugin: ctcloud.cloud.cthings\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
        f"cache_connection: {json.dumps(str(directory / 'cache'))}\n"
    )
    env = bench.ansible.env(bench.run_env(emulator, ANSIBLE_INVENTORY_ENABLED="ctcloud.cloud.cthings"))
    plugin_list = directory / "plugin-list.json"
    first = measure([bench.ansible.tool("ansible-inventory"), "-i", str(config), "--list", "--flush-cache"], env=env, output=plugin_list)
    if first.returncode:
        raise BenchError(f"ansible-inventory failed on the plugin's config:\n{inventory_error(bench, config, env)}")
    floor = write_floor(plugin_list, directory / "floor")
    yaml_file = None
    if yaml_reference:
        yaml_file = directory / "static.yml"
        write_yaml_inventory(json.loads(plugin_list.read_text()), yaml_file)
    return InventorySetup(config, floor, plugin_list, yaml_file, env)


def inventory_error(bench: Bench, source: Path, env: dict[str, str]) -> str:
    reply = subprocess.run([bench.ansible.tool("ansible-inventory"), "-i", str(source), "--list"], env=env, capture_output=True, text=True, check=False)
    return "\n".join((reply.stderr or reply.stdout).splitlines()[-15:])


def write_yaml_inventory(listing: dict, path: Path) -> None:
    """The same hosts, groups and host variables as a static YAML inventory (ansible.builtin.yaml)."""
    import yaml  # pylint: disable=import-outside-toplevel  # only this reference needs it; ansible-core brings PyYAML

    hostvars = listing.get("_meta", {}).get("hostvars", {})
    placed: set[str] = set()

    def group(name: str) -> dict:
        entry = listing.get(name, {})
        body: dict[str, object] = {}
        hosts = {}
        for host in entry.get("hosts", []):
            hosts[host] = None if host in placed else (hostvars.get(host) or None)  # variables once, where a host first appears
            placed.add(host)
        if hosts:
            body["hosts"] = hosts
        if entry.get("vars"):
            body["vars"] = entry["vars"]
        children = [child for child in entry.get("children", []) if child != "ungrouped" or listing.get("ungrouped", {}).get("hosts")]
        if children:
            body["children"] = {child: group(child) or None for child in children}
        return body

    document = {"all": group("all")}
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(document, stream, Dumper=dumper, default_flow_style=False, sort_keys=False)


def inventory_split(bench: Bench, setup: InventorySetup) -> dict[str, float] | None:
    """One more cold run with -vvv: the plugin's own split of its time (reading records vs building hosts)."""
    output = setup.config.parent / "split.txt"
    env = dict(setup.env, CTCLOUD_TOKEN_STORE=bench.ansible.fresh_token_store(), ANSIBLE_VERBOSE_TO_STDERR="true")
    argv = [bench.ansible.tool("ansible-inventory"), "-i", str(setup.config), "--list", "--flush-cache", "-vvv"]
    start = time.perf_counter()
    with open(output, "w", encoding="utf-8") as stream:
        reply = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=stream, check=False)
    seconds = time.perf_counter() - start
    match = SPLIT.search(output.read_text(errors="replace"))
    if reply.returncode or not match:
        return None
    read, build = float(match.group(2)), float(match.group(3))
    return {"hosts": int(match.group(1)), "wall": round(seconds, 3), "read": read, "build": build, "rest": round(seconds - read - build, 3)}


def measure_inventory(bench: Bench, argv: list[str], env: dict[str, str], output: Path, source: Path) -> Measurement:
    result = measure(argv, env=env, output=output)
    if result.returncode:
        raise BenchError(f"{' '.join(argv[1:])} failed:\n{inventory_error(bench, source, env)}")
    return result


def mem(measurements: list[Measurement]) -> dict[str, object]:
    return summary([m.max_rss_mb for m in measurements], 1)


def scenario_inventory(bench: Bench, report: Report) -> None:
    sizes = bench.sizes
    if bench.collection_file("plugins/inventory/cthings.py") is None:
        report.status = "not available yet"
        report.notes.append("the inventory plugin ctcloud.cloud.cthings does not exist in the collection under test yet.")
        return
    emulator = bench.inventory_emulator(sizes.devices)
    setup = inventory_setup(bench, emulator, "inventory", yaml_reference=True)
    tool = bench.ansible.tool("ansible-inventory")
    out = setup.config.parent
    floor_env = bench.ansible.env({"ANSIBLE_INVENTORY_ENABLED": "script"})
    variants: dict[str, Callable[[], Measurement]] = {}
    counts: dict[str, list[Counts]] = {"cold": [], "hit": []}

    def cold() -> Measurement:
        emulator.reset(data=False)
        env = dict(setup.env, CTCLOUD_TOKEN_STORE=bench.ansible.fresh_token_store())
        result = measure_inventory(bench, [tool, "-i", str(setup.config), "--list", "--flush-cache"], env, out / "cold-list.json", setup.config)
        counts["cold"].append(Counts.from_stats(emulator.stats()))
        return result

    def hit() -> Measurement:
        emulator.reset(data=False)
        result = measure_inventory(bench, [tool, "-i", str(setup.config), "--list"], setup.env, out / "hit-list.json", setup.config)
        counts["hit"].append(Counts.from_stats(emulator.stats()))
        return result

    def floor() -> Measurement:
        return measure_inventory(bench, [tool, "-i", str(setup.floor), "--list"], floor_env, out / "floor-list.json", setup.floor)

    variants = {"cold": cold, "hit": hit, "floor": floor}
    results: dict[str, list[Measurement]] = {name: [] for name in variants}
    for repetition in range(sizes.repeat):
        for name in rotated(list(variants), repetition):
            results[name].append(variants[name]())
    yaml_env = bench.ansible.env({"ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.yaml"})
    assert setup.yaml_file is not None
    yaml_run = measure_inventory(bench, [tool, "-i", str(setup.yaml_file), "--list"], yaml_env, out / "yaml-list.json", setup.yaml_file)
    split = inventory_split(bench, setup)
    listings = {name: json.loads((out / f"{name}-list.json").read_text()) for name in ("cold", "hit", "floor", "yaml")}
    same = listings["cold"] == listings["hit"] == listings["floor"]
    hosts = len(listings["cold"]["_meta"]["hostvars"])

    def ratio(name: str, key: str = "seconds") -> list[float]:
        return [getattr(a, key) / getattr(b, key) for a, b in zip(results[name], results["floor"], strict=True)]

    cold_ratio, hit_ratio = median(ratio("cold")), median(ratio("hit"))
    rss_ratio = max(median(ratio("cold", "max_rss_kb")), median(ratio("hit", "max_rss_kb")))
    floor_seconds = median([m.seconds for m in results["floor"]])
    floor_rss = median([m.max_rss_mb for m in results["floor"]])
    report.row(f"floor: script inventory printing the plugin's JSON ({hosts:,} hosts)", seconds_of(results["floor"]), 0, "1.00x",
               f"peak RSS {floor_rss:.0f} MB")
    for name, label in (("cold", "plugin, cold (--flush-cache, empty token store)"), ("hit", "plugin, cache hit")):
        report.row(label, seconds_of(results[name]), max(c.requests for c in counts[name]), ratio_text(median(ratio(name))),
                   f"peak RSS {median([m.max_rss_mb for m in results[name]]):.0f} MB ({median(ratio(name, 'max_rss_kb')):.2f}x)")
    report.row("reference: static YAML file of the same (ansible.builtin.yaml), once", summary([yaml_run.seconds]), 0,
               ratio_text(yaml_run.seconds / floor_seconds), f"peak RSS {yaml_run.max_rss_mb:.0f} MB ({yaml_run.max_rss_mb / floor_rss:.2f}x)")
    if split:
        report.row(
            "split of one cold run (-vvv, the plugin's own timing)", summary([split["wall"]]), "", "",
            f"HTTP+read {split['read']:.2f} s ({split['read'] / split['wall']:.0%}), build {split['build']:.2f} s "
            f"({split['build'] / split['wall']:.0%}), ansible-inventory itself {split['rest']:.2f} s",
        )
    report.target("inventory cold <= 1.5x the floor", ratio_text(cold_ratio, 3), judged(bench, cold_ratio <= 1.5))
    report.target("inventory cache hit <= 1.1x the floor", ratio_text(hit_ratio, 3), judged(bench, hit_ratio <= 1.1))
    hit_requests = [c.requests for c in counts["hit"]]
    report.target("inventory cache hit: 0 HTTP requests", str(hit_requests), all(value == 0 for value in hit_requests))
    report.target("inventory peak memory <= 1.2x the floor", ratio_text(rss_ratio, 3), judged(bench, rss_ratio <= 1.2))
    report.target("plugin and floor print the same inventory", str(same), same)
    report.raw = {
        "hosts": hosts, "devices": sizes.devices, "same_output": same, "split": split,
        "yaml": {"seconds": round(yaml_run.seconds, 3), "max_rss_mb": round(yaml_run.max_rss_mb, 1)},
        **{name: {"seconds": [round(m.seconds, 3) for m in ms], "max_rss_mb": [round(m.max_rss_mb, 1) for m in ms]} for name, ms in results.items()},
        "counts": {name: [c.as_dict() for c in values] for name, values in counts.items()},
    }


def scenario_scaling(bench: Bench, report: Report) -> None:
    sizes = bench.sizes
    if bench.collection_file("plugins/inventory/cthings.py") is None:
        report.status = "not available yet"
        report.notes.append("the inventory plugin ctcloud.cloud.cthings does not exist in the collection under test yet.")
        return
    tool = bench.ansible.tool("ansible-inventory")
    floor_env = bench.ansible.env({"ANSIBLE_INVENTORY_ENABLED": "script"})
    points = []
    for devices in sizes.scaling:
        emulator = bench.inventory_emulator(devices)
        setup = inventory_setup(bench, emulator, f"scaling-{devices}", yaml_reference=False)
        out = setup.config.parent
        hosts = len(json.loads(setup.plugin_list.read_text())["_meta"]["hostvars"])
        results: dict[str, list[Measurement]] = {"cold": [], "floor": []}
        for repetition in range(sizes.repeat):
            for name in rotated(["cold", "floor"], repetition):
                if name == "cold":
                    env = dict(setup.env, CTCLOUD_TOKEN_STORE=bench.ansible.fresh_token_store())
                    argv = [tool, "-i", str(setup.config), "--list", "--flush-cache"]
                    results[name].append(measure_inventory(bench, argv, env, out / "cold-list.json", setup.config))
                else:
                    argv = [tool, "-i", str(setup.floor), "--list"]
                    results[name].append(measure_inventory(bench, argv, floor_env, out / "floor-list.json", setup.floor))
        split = inventory_split(bench, setup)
        point = {
            "devices": devices, "hosts": hosts, "split": split,
            "cold": {"seconds": summary([m.seconds for m in results["cold"]]), "max_rss_mb": mem(results["cold"])},
            "floor": {"seconds": summary([m.seconds for m in results["floor"]]), "max_rss_mb": mem(results["floor"])},
        }
        points.append(point)
        cold_median = point["cold"]["seconds"]["median"]
        floor_median = point["floor"]["seconds"]["median"]
        build = f", plugin read {split['read']:.2f} s + build {split['build']:.2f} s" if split else ""
        report.row(f"plugin cold, {hosts:,} hosts ({devices:,} devices)", point["cold"]["seconds"], "",
                   ratio_text(cold_median / floor_median), f"peak RSS {point['cold']['max_rss_mb']['median']:.0f} MB{build}")
        report.row(f"floor, {hosts:,} hosts", point["floor"]["seconds"], "", "1.00x", f"peak RSS {point['floor']['max_rss_mb']['median']:.0f} MB")
    # Linear means a constant cost per host: compare the marginal cost between successive sizes.
    marginal = []
    for low, high in itertools.pairwise(points):
        added = high["hosts"] - low["hosts"]
        step = {
            "from": low["hosts"], "to": high["hosts"],
            "cold_ms_per_1000_hosts": round(1000 * 1000 * (high["cold"]["seconds"]["median"] - low["cold"]["seconds"]["median"]) / added, 1),
            "floor_ms_per_1000_hosts": round(1000 * 1000 * (high["floor"]["seconds"]["median"] - low["floor"]["seconds"]["median"]) / added, 1),
        }
        if low["split"] and high["split"]:
            step["build_ms_per_1000_hosts"] = round(1000 * 1000 * (high["split"]["build"] - low["split"]["build"]) / added, 1)
        marginal.append(step)
    for step in marginal:
        build = f", plugin build {step['build_ms_per_1000_hosts']:.0f} ms" if "build_ms_per_1000_hosts" in step else ""
        report.notes.append(
            f"{step['from']:,} -> {step['to']:,} hosts: each 1,000 more hosts cost {step['cold_ms_per_1000_hosts']:.0f} ms cold "
            f"(floor {step['floor_ms_per_1000_hosts']:.0f} ms{build})"
        )
    if len(marginal) >= 2:
        first, last = marginal[0]["cold_ms_per_1000_hosts"], marginal[-1]["cold_ms_per_1000_hosts"]
        growth = last / first if first > 0 else math.inf
        linear = growth <= 1.3
        report.target(
            "inventory time grows linearly (marginal cost per host of the last step <= 1.3x the first)",
            f"{first:.0f} -> {last:.0f} ms per 1,000 hosts ({growth:.2f}x)", judged(bench, linear),
        )
    at_devices = next((p for p in points if p["devices"] == sizes.devices), None)
    if at_devices:
        ratio = at_devices["cold"]["max_rss_mb"]["median"] / at_devices["floor"]["max_rss_mb"]["median"]
        report.target(f"peak memory at {sizes.devices:,} devices <= 1.2x the floor", f"{at_devices['cold']['max_rss_mb']['median']:.0f} MB ({ratio:.2f}x)",
                      judged(bench, ratio <= 1.2))
    report.raw = {"points": points, "marginal": marginal}


# --------------------------------------------------------------------------- the table


SCENARIOS: dict[str, tuple[str, Callable[[Bench, Report], None]]] = {
    "locations": ("1. 1,000 locations, no drift (and 10 drifted)", scenario_locations),
    "tokens": ("2. token requests per run", scenario_tokens),
    "inventory": ("3. inventory of 10,000 devices vs the floor", scenario_inventory),
    "one_get": ("4. one GET task", scenario_one_get),
    "reboot": ("5. reboot 100 boxes with wait", scenario_reboot),
    "scaling": ("6. inventory growth 1,000 -> 10,000 -> 50,000 devices", scenario_scaling),
    "per_task": ("7. per-task cost: 50 tasks each of debug, ping, uri and two of ours", scenario_per_task),
}


def seconds_text(value: dict | None) -> str:
    if not value or value.get("median") is None:
        return ""
    if value["n"] == 1:
        return f"{value['median']:.2f}"
    return f"{value['median']:.2f} ({value['min']:.2f}-{value['max']:.2f})"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "not judged"}[met]


def table(reports: list[Report], markdown: bool) -> str:
    header = ["scenario / variant", "median s (min-max)", "HTTP req", "ratio", "notes"]
    lines: list[list[str]] = []
    for report in reports:
        lines.append([f"{report.title}" + ("" if report.status == "ok" else f": {report.status.upper()}"), "", "", "", ""])
        for row in report.rows:
            lines.append(["  " + str(row["variant"]), seconds_text(row["seconds"]), str(row["requests"]), str(row["ratio"]), str(row["note"])])
    target_header = ["target", "measured", "verdict"]
    targets = [[str(t["target"]), str(t["measured"]), verdict(t["met"])] for report in reports for t in report.targets]
    notes = [f"{report.title.split('.')[0]}. {note}" for report in reports for note in report.notes]
    if markdown:
        def render(head: list[str], body: list[list[str]]) -> list[str]:
            out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for cells in body:
                text = [cell.replace("|", "\\|") for cell in cells]
                if not any(text[1:]):
                    text[0] = f"**{text[0]}**"
                out.append("| " + " | ".join(text) + " |")
            return out
        return "\n".join([*render(header, lines), "", *render(target_header, targets), "", *(f"- {note}" for note in notes)])

    def render_text(head: list[str], body: list[list[str]]) -> list[str]:
        widths = [max(len(cells[i]) for cells in [head, *body]) for i in range(len(head))]
        rule = "-+-".join("-" * width for width in widths)
        out = [" | ".join(cell.ljust(width) for cell, width in zip(head, widths, strict=True)).rstrip(), rule]
        out += [" | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() for cells in body]
        return out

    return "\n".join([*render_text(header, lines), "", *render_text(target_header, targets), "", *notes])


# --------------------------------------------------------------------------- the run


def machine(bench_args: argparse.Namespace) -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_at_start": load_average(),
    }
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        models = [line.split(":", 1)[1].strip() for line in with_model.read_text().splitlines() if line.startswith("model name")]
        info["cpu"] = models[0] if models else None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = next((line.split()[1] for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")), None)
        info["memory_gb"] = round(int(total) / 1024 / 1024, 1) if total else None
    version = subprocess.run([str(Path(bench_args.ansible_bin) / "ansible-playbook"), "--version"], capture_output=True, text=True, check=False)
    info["ansible"] = version.stdout.splitlines()[0] if version.stdout else None
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    info["commit"] = commit.stdout.strip() or None
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "plugins"], capture_output=True, text=True, check=False)
    info["plugins_dirty"] = bool(dirty.stdout.strip())
    return info


def default_ansible_bin() -> str:
    here = Path(sys.executable).parent
    if (here / "ansible-playbook").exists():
        return str(here)
    found = shutil.which("ansible-playbook")
    return str(Path(found).parent) if found else str(here)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("--only", help=f"comma-separated scenarios out of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--repeat", type=int, help="repetitions of each scenario (default 3; 1 with --smoke)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repetition: proves the script works in a couple of minutes")
    parser.add_argument("--full-loops", action="store_true",
                        help="also run the looped location variants over all 1,000 locations once (about 20 minutes) besides the extrapolation")
    parser.add_argument("--loop-items", type=int, help="locations the looped variants run per repetition (default 50)")
    parser.add_argument("--reboot-delay", type=float, help="seconds an emulated box takes to reboot (default 2, the emulator's default)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for docs/performance.md)")
    parser.add_argument("--collections-path", help="ANSIBLE_COLLECTIONS_PATH holding ctcloud.cloud (default: $ANSIBLE_COLLECTIONS_PATH, else this checkout)")
    parser.add_argument("--ansible-bin", default=default_ansible_bin(), help="directory of ansible-playbook/ansible-inventory (default: %(default)s)")
    parser.add_argument("--keep-work", action="store_true", help="keep the working directory (logs, playbooks, inventories)")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON", help="only print the table of earlier raw results (with --markdown for the docs)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in (args.only or ",".join(SCENARIOS)).split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = chosen
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def render(path: Path, markdown: bool) -> int:
    """The table of a results file written by an earlier run."""
    results = json.loads(path.read_text())
    reports = []
    for saved in results["scenarios"].values():
        report = Report(saved["title"])
        report.status, report.rows, report.targets, report.notes = saved["status"], saved["rows"], saved["targets"], saved["notes"]
        reports.append(report)
    print(table(reports, markdown=markdown))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render(args.render, args.markdown)
    install_signal_handlers()
    sizes = SMOKE if args.smoke else Sizes()
    if args.repeat:
        sizes = replace(sizes, repeat=args.repeat)
    if args.loop_items:
        sizes = replace(sizes, loop_items=args.loop_items)
    if args.reboot_delay:
        sizes = replace(sizes, reboot_delay=args.reboot_delay)
    work = Path(tempfile.mkdtemp(prefix="ctcloud-bench-"))
    if not args.collections_path:
        args.collections_path = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS")
    if not args.collections_path:
        link = work / "collections" / "ansible_collections" / "ctcloud" / "cloud"
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO)
        args.collections_path = str(work / "collections")
    bench = Bench(args, sizes, work)
    started = time.perf_counter()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results: dict[str, object] = {
        "started": stamp, "smoke": args.smoke, "sizes": asdict(sizes), "collections_path": args.collections_path,
        "machine": machine(args), "scenarios": {},
    }
    reports = []
    failed = False
    print(f"ctcloud.cloud benchmark{' (smoke)' if args.smoke else ''}: {', '.join(args.scenarios)}; {sizes.repeat} repetition(s); work dir {work}", flush=True)
    try:
        for key in args.scenarios:
            title, function = SCENARIOS[key]
            report = Report(title)
            print(f"-- {title} ...", flush=True)
            begun = time.perf_counter()
            load_before = load_average()
            try:
                function(bench, report)
            except BenchError as error:
                report.status = "failed"
                report.notes.append(str(error).splitlines()[0])
                print(f"   FAILED: {error}", file=sys.stderr, flush=True)
                failed = True
            except Exception:  # pylint: disable=broad-exception-caught  # one broken scenario must not hide the others' numbers
                report.status = "failed"
                report.notes.append(traceback.format_exc().strip().splitlines()[-1])
                traceback.print_exc()
                failed = True
            report.raw["wall_seconds"] = round(time.perf_counter() - begun, 1)
            report.raw["load_average"] = {"before": load_before, "after": load_average()}
            print(f"   {report.status} in {report.raw['wall_seconds']:.0f} s", flush=True)
            reports.append(report)
            results["scenarios"][key] = report.as_dict()  # type: ignore[index]
    finally:
        bench.stop_emulators()
        results["wall_seconds"] = round(time.perf_counter() - started, 1)
        results["machine"]["load_average_at_end"] = load_average()  # type: ignore[index]
        results["table"] = table(reports, markdown=False)
        RESULTS.mkdir(exist_ok=True)
        paths = [RESULTS / f"{stamp}{'-smoke' if args.smoke else ''}.json"]
        if args.json:
            paths.append(args.json)
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1) + "\n")
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(reports, markdown=args.markdown))
    print(f"\nTotal {results['wall_seconds']:.0f} s. Raw results: {', '.join(str(path) for path in paths)}")
    if args.keep_work:
        print(f"Work directory kept: {work}")
    # Timing never fails the run; a scenario that could not run at all does.
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
