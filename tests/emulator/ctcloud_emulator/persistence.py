"""The `--state-file`: atomic saves, coalesced by a writer thread.

A save writes a temporary file in the same directory, fsyncs it and renames it
over the old one, so a reader (or a crash) sees either the old or the new state,
never half of one. Bursts of changes are coalesced: the writer saves at most
every `MIN_INTERVAL_SECONDS`, and backs off further when a save itself is slow,
so persistence never costs a benchmark more than a fraction of a core.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from ctcloud_emulator.state import STATE_FORMAT

LOG = logging.getLogger("ctcloud_emulator")
MIN_INTERVAL_SECONDS = 0.1
SLOW_SAVE_FACTOR = 4  # wait at least this many times the last save's duration before the next


class StateFileError(Exception):
    """A state file that exists but cannot be used."""


def load_state_file(path: str) -> dict[str, Any] | None:
    """The saved state, or None when the file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise StateFileError(f"cannot read state file {path}: {error}") from error
    if not isinstance(saved, dict) or saved.get("format") != STATE_FORMAT:
        raise StateFileError(f"{path} is not a {STATE_FORMAT} state file")
    return saved


def write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(descriptor, 0o600)  # it holds live refresh tokens
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    directory_descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_descriptor)  # make the rename itself durable
    finally:
        os.close(directory_descriptor)


class StateFileWriter:
    """Saves `snapshot()` to `path` some time after `notify()`, and once more on `close()`."""

    def __init__(self, path: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        self._path = path
        self._snapshot = snapshot
        self._condition = threading.Condition()
        self._dirty = False
        self._closing = False
        self._interval = MIN_INTERVAL_SECONDS
        self._thread = threading.Thread(target=self._run, name="state-file-writer", daemon=True)

    def start(self) -> None:
        self.save()  # the file exists as soon as the emulator announces itself
        self._thread.start()

    def notify(self) -> None:
        with self._condition:
            self._dirty = True
            self._condition.notify()

    def save(self) -> None:
        started = time.monotonic()
        state = self._snapshot()
        write_atomically(self._path, json.dumps(state, separators=(",", ":"), ensure_ascii=False))
        self._interval = max(MIN_INTERVAL_SECONDS, SLOW_SAVE_FACTOR * (time.monotonic() - started))

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._dirty and not self._closing:
                    self._condition.wait()
                if self._closing:
                    return  # close() saves
            time.sleep(self._interval)  # let a burst of changes gather into one save
            with self._condition:
                self._dirty = False
            try:
                self.save()
            except OSError as error:
                LOG.error("cannot save state to %s: %s", self._path, error)

    def close(self) -> None:
        """Stop the thread and save what is there now."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join()
        self.save()
