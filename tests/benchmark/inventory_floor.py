# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The floor of an inventory plugin's cost, and the plugin measured against it.

The floor is ansible-core's own cost of taking in the same inventory: a script
inventory that prints exactly the JSON ``ansible-inventory --list`` printed for
the plugin (same hosts, groups and host variables), fed to ``ansible-inventory
--list`` again. (A static YAML file is no floor: YAML parsing in ansible-core
2.19 is several times slower than the plugin.)

Use it as a library::

    floor = write_floor("plugin-list.json", "/tmp/floor")      # -> /tmp/floor/floor.sh
    m = measure([ansible_inventory, "-i", str(floor), "--list"], env=dict(os.environ, ANSIBLE_INVENTORY_ENABLED="script"))
    m.seconds, m.max_rss_mb

or from the command line, with the plugin's config (caching on, for the hit runs)::

    ANSIBLE_INVENTORY_ENABLED=ctcloud.cloud.cthings python3 tests/benchmark/inventory_floor.py \
        --inventory inv.cthings.yml --runs 3 --work /tmp/floor

which prints one JSON object: median seconds and peak RSS of the plugin cold
(``--flush-cache``), the plugin on a cache hit, and the floor, with the ratios.
Every run is its own process, measured from a fresh parent, so the peak RSS of
one run never leaks into the next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Runs the command and reports its wall time and its (and its children's) peak RSS.
_PROBE = r"""
import json, resource, subprocess, sys, time
argv, out = json.loads(sys.argv[1]), sys.argv[2]
with open(out, "wb") as stdout:
    start = time.perf_counter()
    rc = subprocess.call(argv, stdout=stdout)
    seconds = time.perf_counter() - start
print(json.dumps({"rc": rc, "seconds": seconds, "max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass
class Measurement:
    seconds: float
    max_rss_kb: int
    returncode: int

    @property
    def max_rss_mb(self) -> float:
        return self.max_rss_kb / 1024


def write_floor(list_json: str | os.PathLike, directory: str | os.PathLike) -> Path:
    """A script inventory in ``directory`` printing ``list_json`` (an ``ansible-inventory --list`` output)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "floor.json"
    if Path(list_json).resolve() != data.resolve():
        shutil.copyfile(list_json, data)
    script = directory / "floor.sh"
    # `cat`: the script itself should cost nothing, so that the floor is ansible-core's cost alone.
    script.write_text('#!/bin/sh\nexec cat "$(dirname "$0")/floor.json"\n')
    script.chmod(0o755)
    return script


def measure(argv: list[str], env: dict[str, str] | None = None, output: str | os.PathLike = os.devnull) -> Measurement:
    """Run ``argv`` once (stdout to ``output``), in a fresh measuring parent."""
    reply = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), str(output)], env=env, check=True, capture_output=True, text=True
    )
    result = json.loads(reply.stdout.strip().splitlines()[-1])
    return Measurement(result["seconds"], result["max_rss_kb"], result["rc"])


def _median(runs: list[Measurement]) -> dict[str, float]:
    return {
        "seconds": round(statistics.median(run.seconds for run in runs), 3),
        "max_rss_mb": round(statistics.median(run.max_rss_mb for run in runs), 1),
        "runs": [round(run.seconds, 3) for run in runs],
    }


def compare(inventory: str, runs: int, work: Path, ansible_inventory: str) -> dict[str, object]:
    """Plugin cold, plugin cache hit, and the floor built from the plugin's own output."""
    work.mkdir(parents=True, exist_ok=True)
    plugin_list = work / "plugin-list.json"
    cold = []
    for _attempt in range(runs):
        run = measure([ansible_inventory, "-i", inventory, "--list", "--flush-cache"], output=plugin_list)
        if run.returncode:
            raise SystemExit(f"ansible-inventory failed on {inventory} (rc {run.returncode})")
        cold.append(run)
    hit_list = work / "hit-list.json"
    hit = [measure([ansible_inventory, "-i", inventory, "--list"], output=hit_list) for _attempt in range(runs)]
    floor = write_floor(plugin_list, work)
    floor_env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="script")
    floor_list = work / "floor-list.json"
    base = [measure([ansible_inventory, "-i", str(floor), "--list"], env=floor_env, output=floor_list) for _attempt in range(runs)]
    same = floor_list.read_bytes() == plugin_list.read_bytes() == hit_list.read_bytes()
    result = {"inventory": inventory, "hosts": len(json.loads(plugin_list.read_text())["_meta"]["hostvars"]), "same_output": same}
    result.update({"cold": _median(cold), "cache_hit": _median(hit), "floor": _median(base)})
    result["ratios"] = {
        "cold": round(result["cold"]["seconds"] / result["floor"]["seconds"], 3),
        "cache_hit": round(result["cache_hit"]["seconds"] / result["floor"]["seconds"], 3),
        "max_rss": round(max(result["cold"]["max_rss_mb"], result["cache_hit"]["max_rss_mb"]) / result["floor"]["max_rss_mb"], 3),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--inventory", required=True, help="the plugin's config file (with cache: true for the hit runs)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/inventory-floor"))
    parser.add_argument("--ansible-inventory", default=shutil.which("ansible-inventory") or "ansible-inventory")
    args = parser.parse_args()
    print(json.dumps(compare(args.inventory, args.runs, args.work, args.ansible_inventory), indent=1))


if __name__ == "__main__":
    main()
