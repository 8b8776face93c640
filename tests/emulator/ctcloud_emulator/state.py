"""Everything the emulator knows, behind one lock, and its persistent form.

The lock is re-entrant so that a snapshot can hold it while the CT store and the
token registry take it again for their parts: the saved file is one consistent
moment. Devices are not saved; they are regenerated from the seed parameters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ctcloud_emulator.config import SeedParams
from ctcloud_emulator.credentials import Credentials
from ctcloud_emulator.ct_store import CtStore
from ctcloud_emulator.ct_tokens import CtTokenRegistry
from ctcloud_emulator.devices import DeviceCatalog
from ctcloud_emulator.dialects import DEFAULT, Dialect
from ctcloud_emulator.seed_data import generate_ct_seed

STATE_FORMAT = "ctcloud-emulator-state/1"


class EmulatorState:
    def __init__(self, credentials: Credentials, seed_params: SeedParams, saved: dict[str, Any] | None = None,
                 dialect: Dialect = DEFAULT) -> None:
        self.lock = threading.RLock()
        self.credentials = credentials
        self.seed_params = seed_params
        self._change_listener: Callable[[], None] | None = None
        self.ct = CtStore(self.lock, self._changed, dialect)
        self.ct_tokens = CtTokenRegistry(credentials, self.lock, self._changed)
        # Bumped to forget every cThings token: they are stateless JWTs signed with a per-generation key.
        self.cthings_key_generation = 0
        self.devices = DeviceCatalog([])
        if saved is None:
            self.reseed(seed_params)
        else:
            self._restore(saved)

    def set_change_listener(self, listener: Callable[[], None]) -> None:
        self._change_listener = listener

    def _changed(self) -> None:
        if self._change_listener is not None:
            self._change_listener()

    # ---- resets ---------------------------------------------------------------------------

    def reseed(self, seed_params: SeedParams) -> None:
        """Replace all data with the seed data of these parameters (tokens are kept)."""
        ct_seed = generate_ct_seed(seed_params.seed, seed_params.locations, seed_params.boxes)
        devices = self.devices
        if (seed_params.seed, seed_params.devices) != (self.seed_params.seed, len(devices)):
            # Devices are read-only: the catalog is regenerated only when its own parameters change.
            devices = DeviceCatalog.generate(seed_params.seed, seed_params.devices)
        with self.lock:
            if devices is self.devices:
                devices.restore_seeded_connections()  # connection flips are data: a reset undoes them
            self.seed_params = seed_params
            self.ct.load(seed_params.seed, ct_seed)
            self.devices = devices

    def reset_tokens(self) -> None:
        """Back to the start line's refresh token; every CT and cThings token issued since is forgotten."""
        with self.lock:
            self.ct_tokens.reset()
            self.cthings_key_generation += 1
        self._changed()

    def cthings_signing_key(self) -> bytes:
        return self.credentials.cthings_signing_key(self.cthings_key_generation)

    # ---- persistence ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "credential_seed": self.credentials.seed,
                "seed_params": self.seed_params.as_dict(),
                "ct": self.ct.snapshot(),
                "ct_tokens": self.ct_tokens.snapshot(),
                "cthings_key_generation": self.cthings_key_generation,
            }

    def _restore(self, saved: dict[str, Any]) -> None:
        devices = DeviceCatalog.generate(self.seed_params.seed, self.seed_params.devices)
        with self.lock:
            self.ct.restore(saved["ct"])
            self.ct_tokens.restore(saved["ct_tokens"])
            self.cthings_key_generation = saved["cthings_key_generation"]
            self.devices = devices
