"""What every emulated host is built from: the shared objects and the route endpoint type."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from werkzeug.wrappers import Response

from ctcloud_emulator.config import Knobs
from ctcloud_emulator.credentials import Credentials
from ctcloud_emulator.dialects import Dialect
from ctcloud_emulator.faults import FaultInjector
from ctcloud_emulator.state import EmulatorState
from ctcloud_emulator.stats import Stats

ADMIN = "admin"
CT_AUTH, CT_API, CTHINGS_AUTH, CTHINGS_API = "ct_auth", "ct_api", "cthings_auth", "cthings_api"
API_HOSTS = frozenset({CT_API, CTHINGS_API})  # where latency and faults apply


@dataclasses.dataclass
class Services:
    credentials: Credentials
    state: EmulatorState
    stats: Stats
    faults: FaultInjector
    # Replaced as a whole by `POST /_admin/config`: read it once per request.
    knobs: Knobs
    # Fixed for the life of the process (`--dialect`).
    dialect: Dialect
    # Whether `GET /_admin/identity` says "the bundled emulator" (`--pose-as-real-cloud` turns it off).
    announces_itself: bool = True


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A routing rule's target: which emulated host it belongs to and what answers it."""

    host: str
    handler: Callable[..., Response]
