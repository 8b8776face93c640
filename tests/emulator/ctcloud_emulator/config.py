"""Runtime knobs and seed sizes.

`Knobs` is immutable: `POST /_admin/config` builds a new instance and swaps the
reference, so a request handler that reads `services.knobs` once sees one
consistent set of values without taking a lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

# The statuses the contract names for rate limits and transient failures.
FAULT_STATUSES_ALLOWED = frozenset({429, 502, 503, 504})
ROTATION_MODES = ("on_use", "strict")


class KnobError(ValueError):
    """A knob value that the contract does not allow."""


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise KnobError("must be a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise KnobError("must be a number") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise KnobError("must be an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise KnobError("must be an integer") from None


def fraction(value: Any) -> float:
    """A probability: 0 ≤ value ≤ 1."""
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise KnobError("must be between 0 and 1")
    return number


def non_negative_number(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise KnobError("must be >= 0")
    return number


def non_negative_int(value: Any) -> int:
    number = _integer(value)
    if number < 0:
        raise KnobError("must be >= 0")
    return number


def positive_int(value: Any) -> int:
    number = _integer(value)
    if number < 1:
        raise KnobError("must be >= 1")
    return number


def fault_statuses(value: Any) -> tuple[int, ...]:
    """`429,503` on the command line, `[429, 503]` or the same string in JSON."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise KnobError("must be a non-empty list of statuses")
    statuses = tuple(_integer(item) for item in items)
    unknown = sorted(set(statuses) - FAULT_STATUSES_ALLOWED)
    if unknown:
        raise KnobError(f"unsupported fault status {unknown[0]}; choose from {sorted(FAULT_STATUSES_ALLOWED)}")
    return statuses


def boolean(value: Any) -> bool:
    """`true`/`false` (any case), `1`/`0` on the command line; a JSON boolean."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise KnobError("must be true or false")


def voucher_id_length(value: Any) -> int:
    number = _integer(value)
    if not 8 <= number <= 32:
        raise KnobError("must be between 8 and 32")
    return number


def rotation_mode(value: Any) -> str:
    if value not in ROTATION_MODES:
        raise KnobError(f"must be one of {', '.join(ROTATION_MODES)}")
    return str(value)


@dataclasses.dataclass(frozen=True)
class Knobs:
    """Every runtime knob of the contract's emulator section, with its default."""

    fault_rate: float = 0.0
    fault_statuses: tuple[int, ...] = (429, 503)
    retry_after: int = 1
    revoke_every: int = 0
    ct_access_ttl: int = 7200
    cthings_access_ttl: int = 3600
    reboot_delay: float = 2.0
    voucher_delay: float = 0.5
    ct_rotation: str = "on_use"
    latency_ms: float = 0.0
    # The dashboard dialect's search index (`q`) shows a write this many seconds after it happened.
    search_lag: float = 10.0
    # The next N CT refresh grants are made, then their replies are lost (the connection closes unanswered).
    lose_refresh_replies: int = 0
    # Boxes that are up report `uptime_seconds` counted to now and a `last_heartbeat` this many seconds old (0: both as
    # stored, the heartbeat's own reading).
    heartbeat_lag: float = 0.0
    # Hexadecimal digits of the `unique_id` of a batch created from now on (CT's are 32; other servers issue fewer).
    voucher_id_length: int = 32
    # Rails' `validates :location_name, uniqueness: true`: a create or rename onto a name another location has is 422.
    unique_location_names: bool = False

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["fault_statuses"] = list(self.fault_statuses)
        return values

    def updated(self, changes: Mapping[str, Any]) -> Knobs:
        """A copy with `changes` applied; KnobError names the first bad knob and nothing changes."""
        parsed: dict[str, Any] = {}
        for name, value in changes.items():
            parser = KNOB_PARSERS.get(name)
            if parser is None:
                raise KnobError(f"unknown knob {name!r}")
            try:
                parsed[name] = parser(value)
            except KnobError as error:
                raise KnobError(f"{name} {error}") from None
        return dataclasses.replace(self, **parsed)


KNOB_PARSERS: dict[str, Callable[[Any], Any]] = {
    "fault_rate": fraction,
    "fault_statuses": fault_statuses,
    "retry_after": non_negative_int,
    "revoke_every": non_negative_int,
    "ct_access_ttl": positive_int,
    "cthings_access_ttl": positive_int,
    "reboot_delay": non_negative_number,
    "voucher_delay": non_negative_number,
    "ct_rotation": rotation_mode,
    "latency_ms": non_negative_number,
    "search_lag": non_negative_number,
    "lose_refresh_replies": non_negative_int,
    "heartbeat_lag": non_negative_number,
    "voucher_id_length": voucher_id_length,
    "unique_location_names": boolean,
}


@dataclasses.dataclass(frozen=True)
class SeedParams:
    """What the deterministic seed data is generated from."""

    locations: int = 25
    boxes: int = 50
    devices: int = 100
    seed: int = 1

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> SeedParams:
        parsed: dict[str, int] = {}
        for name, value in changes.items():
            if name not in {"locations", "boxes", "devices", "seed"}:
                raise KnobError(f"unknown seed parameter {name!r}")
            try:
                parsed[name] = _integer(value) if name == "seed" else non_negative_int(value)
            except KnobError as error:
                raise KnobError(f"seed.{name} {error}") from None
        return dataclasses.replace(self, **parsed)
