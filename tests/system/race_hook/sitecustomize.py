# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loaded (through PYTHONPATH) only by the module processes of test_races_and_odd_data's race tests.

It makes a race certain instead of likely. A process about to send a create
(``POST`` to a path matching ``$CTCLOUD_RACE_PATH``) waits at a barrier until
``$CTCLOUD_RACE_PARTIES`` processes with the same request body have arrived there,
sends it, and then waits until every process that arrived has sent its own before
it goes on. So without a lock, every racer has read "missing" before anyone creates,
and every racer's re-read sees every create. Nothing is faked: the requests are real
and reach the emulator unchanged; only their order is arranged.

Each wait is bounded by ``$CTCLOUD_RACE_TIMEOUT`` seconds: when the collection makes
processes take turns (its lock), only one of them reaches the create; it waits out the
bound and goes on alone, and the others then find what it created.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import time

_DIRECTORY = os.environ.get("CTCLOUD_RACE_DIR")
_PATH = re.compile(os.environ.get("CTCLOUD_RACE_PATH") or r"$^")
_PARTIES = int(os.environ.get("CTCLOUD_RACE_PARTIES") or 2)
_TIMEOUT = float(os.environ.get("CTCLOUD_RACE_TIMEOUT") or 10)
_POLL = 0.02


def _count(group: str, stage: str) -> int:
    return len(glob.glob(os.path.join(group, f"*.{stage}")))


def _arrive(group: str, stage: str) -> None:
    with open(os.path.join(group, f"{os.getpid()}.{stage}"), "w", encoding="utf-8"):
        pass


def _wait(done) -> None:
    deadline = time.monotonic() + _TIMEOUT
    while not done() and time.monotonic() < deadline:
        time.sleep(_POLL)


def _install() -> None:
    import requests  # pylint: disable=import-outside-toplevel  # only the module processes that get this hook

    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        path = requests.utils.urlparse(url).path
        if str(method).upper() != "POST" or not _PATH.search(path):
            return original(self, method, url, *args, **kwargs)
        body = json.dumps(kwargs.get("json"), sort_keys=True)
        group = os.path.join(_DIRECTORY, hashlib.sha256(f"{path}\0{body}".encode()).hexdigest()[:16])
        os.makedirs(group, exist_ok=True)
        _arrive(group, "arrived")
        _wait(lambda: _count(group, "arrived") >= _PARTIES)
        try:
            return original(self, method, url, *args, **kwargs)
        finally:
            _arrive(group, "sent")
            _wait(lambda: _count(group, "sent") >= _count(group, "arrived"))

    requests.Session.request = request


if _DIRECTORY:
    _install()
