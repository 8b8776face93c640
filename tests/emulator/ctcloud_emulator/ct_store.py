"""CT data (locations, vouchers, boxes) and the operations the API performs on it.

Records are never changed in place: an update stores a new dict. A reader that
copied references under the lock can therefore serialize them after releasing
it, and the persistence snapshot is a list copy.

Time-based changes are computed, not scheduled: a voucher is `completed` once
the clock passes its `_ready_at`, a rebooting box is `online` once it passes
`_action_done_at`. Keys starting with `_` (vouchers and boxes only) are internal
and never leave the API; location records are exactly what the API shows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ctcloud_emulator import ct_rules
from ctcloud_emulator.dialects import DEFAULT, Dialect
from ctcloud_emulator.search import SearchIndex, ranked_matches
from ctcloud_emulator.seed_data import (
    ACCOUNT_USER_ID,
    LOCATION_FIELDS,
    CtSeed,
    Record,
    location_slug,
    new_voucher_record,
    voucher_unique_id,
)
from ctcloud_emulator.voucher_codes import voucher_codes

VOUCHER_FILES_BASE = "https://vouchers.ct-emulator.invalid"  # .invalid: links that can never resolve
BOX_ACTIONS = ("reboot", "reset", "resync", "cancel")
# action -> the state a box shows until `reboot_delay` has passed (then it is online again)
BOX_ACTION_STATES = {"reboot": "rebooting", "reset": "rebooting", "resync": "processing"}
VOUCHER_VIEW_FIELDS = (
    "unique_id", "location_id", "batch_name", "batch_description", "quantity", "is_active", "completed", "created_at",
    "csv_link", "pdf_link", "splash_page_id", "access_type", "validity_minutes", "access_restrict_data", "session_timeout",
    "idle_timeout", "simultaneous_use", "access_restrict_period", "access_period", "voucher_format", "download_speed",
    "upload_speed", "length",
)
# What `q` searches (contract: name, address or town of a location; the name of a voucher batch; for a box, CT's
# search box: its description, both spellings of its MAC, its slug and its serial number).
LOCATION_SEARCH_FIELDS = ("location_name", "location_address", "town")
VOUCHER_SEARCH_FIELDS = ("batch_name",)
BOX_SEARCH_FIELDS = ("description", "calledstationid", "mac", "slug", "serial_number")
SESSION_DATA_REFUSAL = "You cannot delete a location with session data."  # the dashboard's own words
NAME_TAKEN = "has already been taken"  # Rails' uniqueness message
UP_STATES = ("online", "splash_only")


class NotFound(Exception):
    """An unknown id or slug: 404 `{"message": …}`."""


class Invalid(Exception):
    """A validation failure: 422 `{"errors": {field: [messages]}}`."""

    def __init__(self, errors: ct_rules.Errors) -> None:
        super().__init__(errors)
        self.errors = errors


class Refused(Exception):
    """A request the server understood and will not carry out: 422 `{"errors": [message]}`."""


def _public(record: Record) -> Record:
    return {key: value for key, value in record.items() if key[0] != "_"}


def _sort_key(field: str) -> Callable[[Record], tuple[Any, ...]]:
    """Nulls last, text without case, ties broken by id."""
    def key(record: Record) -> tuple[Any, ...]:
        value = int(record["id"]) if field == "id" else record.get(field)
        if isinstance(value, str):
            value = value.casefold()
        return (value is None, value if value is not None else 0, int(record["id"]))
    return key


def _matches(needle: str, *haystacks: str | None) -> bool:
    return any(needle in text.casefold() for text in haystacks if text)


class CtStore:
    """All CT records; every public method holds the state lock."""

    def __init__(self, lock: threading.RLock, on_change: Callable[[], None], dialect: Dialect = DEFAULT) -> None:
        self._lock = lock
        self._on_change = on_change
        self.dialect = dialect
        # What `q` finds in the dashboard dialect: the records as they were some seconds ago.
        self.location_index = SearchIndex()
        self.voucher_index = SearchIndex()
        self.data_seed = 0
        self.locations: dict[str, Record] = {}
        self.location_ids_by_slug: dict[str, str] = {}
        self.vouchers: dict[str, Record] = {}
        self.boxes: dict[str, Record] = {}
        self.box_ids_by_slug: dict[str, str] = {}
        self.next_location_id = 1
        self.next_voucher_serial = 1

    # ---- loading and saving ---------------------------------------------------------------

    def load(self, data_seed: int, seed: CtSeed) -> None:
        self.restore({
            "data_seed": data_seed,
            "locations": seed.locations,
            "vouchers": seed.vouchers,
            "boxes": seed.boxes,
            "next_location_id": max((int(location["id"]) for location in seed.locations), default=1000) + 1,
            "next_voucher_serial": len(seed.vouchers) + 1,
        })

    def restore(self, saved: Mapping[str, Any]) -> None:
        with self._lock:
            self.data_seed = saved["data_seed"]
            self.locations = {record["id"]: record for record in saved["locations"]}
            self.location_ids_by_slug = {record["slug"]: record["id"] for record in saved["locations"]}
            self.vouchers = {record["unique_id"]: record for record in saved["vouchers"]}
            self.boxes = {record["id"]: {"_action_done_at": None, "_state_before": None, "allowed_job": record["state"] != "offline", **record}
                          for record in saved["boxes"]}
            self.box_ids_by_slug = {record["slug"]: record["id"] for record in saved["boxes"]}
            self.next_location_id = saved["next_location_id"]
            self.next_voucher_serial = saved["next_voucher_serial"]
            # Loaded data is indexed already: only later writes lag.
            self.location_index.load(self.locations)
            self.voucher_index.load(self.vouchers)
        self._on_change()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "data_seed": self.data_seed,
                "locations": list(self.locations.values()),
                "vouchers": list(self.vouchers.values()),
                "boxes": list(self.boxes.values()),
                "next_location_id": self.next_location_id,
                "next_voucher_serial": self.next_voucher_serial,
            }

    def dump(self, now: float) -> dict[str, Any]:
        """The admin state dump: what the API would show, codes of completed batches included."""
        with self._lock:
            locations = list(self.locations.values())
            vouchers = list(self.vouchers.values())
            boxes = list(self.boxes.values())
        voucher_views = [self._voucher_view(voucher, now) for voucher in vouchers]
        return {
            "locations": locations,
            "vouchers": voucher_views,
            "codes": {view["unique_id"]: list(self._codes_of(voucher)) for view, voucher in zip(voucher_views, vouchers, strict=True) if view["completed"]},
            "boxes": [self._box_view(box, now) for box in boxes],
        }

    # ---- locations ------------------------------------------------------------------------

    def _location(self, ref: str, allow_slug: bool = True) -> Record:
        location_id = ref if ref.isdigit() else (self.location_ids_by_slug.get(ref) if allow_slug else None)
        location = self.locations.get(location_id) if location_id else None
        if location is None:
            raise NotFound("Couldn't find Location")
        return location

    def list_locations(self, query: str | None, sort: str | None, direction: str | None, location_name: str | None = None,
                       now: float = 0.0, search_lag: float = 0.0) -> list[Record]:
        """``location_name`` is an exact filter on the stored names; ``q`` is the dialect's search (see dialects.py)."""
        with self._lock:
            locations = list(self.locations.values())
            indexed = self.location_index.visible(now, search_lag) if query and self.dialect.search_index else None
        if location_name is not None:
            locations = [loc for loc in locations if loc["location_name"] == location_name]
        if query and indexed is not None:
            # A search engine matches words and ranks; the records shown are the database's current ones.
            current = {loc["id"]: loc for loc in locations}
            indexed.sort(key=lambda pair: int(pair[0]))
            locations = [current[key] for key in ranked_matches(query, indexed, LOCATION_SEARCH_FIELDS) if key in current]
            if not sort:
                return locations
        elif query:
            needle = query.casefold()
            locations = [loc for loc in locations if _matches(needle, loc["location_name"], loc["location_address"], loc["town"])]
        field = sort if sort in LOCATION_FIELDS else "id"  # an unknown sort field falls back to the default
        locations.sort(key=_sort_key(field), reverse=direction == "desc")
        return locations

    def get_location(self, ref: str) -> Record:
        with self._lock:
            return self._location(ref)

    def _name_taken(self, name: str, location_id: str | None = None) -> bool:
        """Whether another location has exactly this name (archived ones too). Holds the lock."""
        return any(loc["location_name"] == name and loc["id"] != location_id for loc in self.locations.values())

    def create_location(self, payload: Mapping[str, Any], now: float, search_lag: float = 0.0, unique_names: bool = False) -> Record:
        values, errors = ct_rules.clean_location(payload, creating=True)
        if errors:
            raise Invalid(errors)
        with self._lock:
            if unique_names and self._name_taken(values["location_name"]):
                raise Invalid({"location_name": [NAME_TAKEN]})
            location_id = str(self.next_location_id)
            self.next_location_id += 1
            record = {
                "id": location_id, "archived": False, "state": "active", "location_name": values["location_name"],
                "slug": location_slug(self.data_seed, int(location_id), values["location_name"]),
                "location_address": values["location_address"], "street": None, "town": values["town"],
                "postcode": values["postcode"], "phone1": None, "location_website": None, "location_type": None,
                "timezone": "Europe/London", "development_mode": None, "daily_limit": False,
                "created_at": int(now), "updated_at": int(now), "user_id": ACCOUNT_USER_ID, "lat": None, "lng": None,
                "clients_total": 0, "clients_online": 0, "boxes_count": 0, "meraki_secret": None,
            }
            record.update(values)
            self.locations[location_id] = record
            self.location_ids_by_slug[record["slug"]] = location_id
            self.location_index.write(location_id, record, now, search_lag)
        self._on_change()
        return record

    def update_location(self, ref: str, payload: Mapping[str, Any], now: float, search_lag: float = 0.0,
                        unique_names: bool = False) -> Record:
        values, errors = ct_rules.clean_location(payload, creating=False)
        with self._lock:
            current = self._location(ref, allow_slug=False)
            if errors:
                raise Invalid(errors)
            if unique_names and "location_name" in values and self._name_taken(values["location_name"], current["id"]):
                raise Invalid({"location_name": [NAME_TAKEN]})
            if "state" in values:
                values["archived"] = values["state"] == "archived"
            if all(current.get(field) == value for field, value in values.items()):
                return current  # Rails does not touch updated_at when nothing changed
            record = {**current, **values, "updated_at": int(now)}
            if self.dialect.slug_follows_name and record["location_name"] != current["location_name"]:
                self._reslug(record)
            self.locations[record["id"]] = record
            self.location_index.write(record["id"], record, now, search_lag)
        self._on_change()
        return record

    def _reslug(self, record: Record) -> None:
        """friendly_id without history: a new slug from the new name; the old one finds nothing. Holds the lock."""
        old_slug = record["slug"]
        record["slug"] = location_slug(self.data_seed, int(record["id"]), record["location_name"])
        if record["slug"] == old_slug:
            return
        del self.location_ids_by_slug[old_slug]
        self.location_ids_by_slug[record["slug"]] = record["id"]
        for box_id, box in list(self.boxes.items()):
            if box["location_id"] == record["id"]:
                self.boxes[box_id] = {**box, "location_slug": record["slug"]}

    def delete_location(self, ref: str, now: float = 0.0, search_lag: float = 0.0) -> None:
        """Its vouchers go with it; its boxes stay, unassigned. The dashboard dialect keeps locations with session data."""
        with self._lock:
            location = self._location(ref, allow_slug=False)
            if self.dialect.delete_refused_with_sessions and location["clients_total"]:
                raise Refused(SESSION_DATA_REFUSAL)
            del self.locations[location["id"]]
            del self.location_ids_by_slug[location["slug"]]
            self.location_index.write(location["id"], None, now, search_lag)
            for unique_id, voucher in list(self.vouchers.items()):
                if voucher["location_id"] == location["id"]:
                    del self.vouchers[unique_id]
                    self.voucher_index.write(unique_id, None, now, search_lag)
            for box_id, box in list(self.boxes.items()):
                if box["location_id"] == location["id"]:
                    self.boxes[box_id] = {**box, "location_id": None, "location_slug": None}
        self._on_change()

    def admin_set_location(self, ref: str, fields: Mapping[str, Any], now: float = 0.0) -> Record:
        """Set fields the API does not let a client write (its counters, say), or a name as another client might have
        stored it (stray spaces, another Unicode normal form: the slug stays); KeyError names an unknown field."""
        with self._lock:
            location = self._location(ref)
            unknown = [field for field in fields if field not in location or field in ("id", "slug")]
            if unknown:
                raise KeyError(unknown[0])
            location = {**location, **fields}
            self.locations[location["id"]] = location
            self.location_index.write(location["id"], location, now, 0.0)
        self._on_change()
        return location

    # ---- vouchers -------------------------------------------------------------------------

    def _voucher_view(self, voucher: Record, now: float) -> Record:
        completed = now >= voucher["_ready_at"]
        files = f"{VOUCHER_FILES_BASE}/{voucher['unique_id']}"
        view = {**voucher, "completed": completed, "csv_link": f"{files}.csv" if completed else None,
                "pdf_link": f"{files}.pdf" if completed else None}
        return {field: view.get(field) for field in VOUCHER_VIEW_FIELDS}  # .get: a state file saved before access_period

    def _voucher(self, location_ref: str, unique_id: str) -> Record:
        location = self._location(location_ref)
        voucher = self.vouchers.get(unique_id)
        if voucher is None or voucher["location_id"] != location["id"]:
            raise NotFound("Couldn't find Voucher")
        return voucher

    def list_vouchers(self, location_ref: str, query: str | None, batch_name: str | None, now: float, search_lag: float = 0.0) -> list[Record]:
        with self._lock:
            location_id = self._location(location_ref)["id"]
            vouchers = [voucher for voucher in self.vouchers.values() if voucher["location_id"] == location_id]
            indexed = self.voucher_index.visible(now, search_lag) if query and self.dialect.search_index else None
        if batch_name is not None:
            vouchers = [voucher for voucher in vouchers if voucher["batch_name"] == batch_name]
        if query and indexed is not None:
            current = {voucher["unique_id"]: voucher for voucher in vouchers}
            vouchers = [current[key] for key in ranked_matches(query, indexed, VOUCHER_SEARCH_FIELDS) if key in current]
        elif query:
            needle = query.casefold()
            vouchers = [voucher for voucher in vouchers if needle in voucher["batch_name"].casefold()]
        return [self._voucher_view(voucher, now) for voucher in vouchers]

    def get_voucher(self, location_ref: str, unique_id: str, now: float) -> Record:
        with self._lock:
            return self._voucher_view(self._voucher(location_ref, unique_id), now)

    def create_voucher(self, location_ref: str, payload: Mapping[str, Any], now: float, generation_seconds: float,
                       search_lag: float = 0.0, id_length: int = 32) -> Record:
        with self._lock:
            location = self._location(location_ref)
            values, errors = ct_rules.clean_voucher_create(payload)
            if errors:
                raise Invalid(errors)
            unique_id = voucher_unique_id(self.data_seed, self.next_voucher_serial)[:id_length]
            self.next_voucher_serial += 1
            record = new_voucher_record(unique_id, location["id"], int(now), values)
            record["_ready_at"] = now + generation_seconds
            self.vouchers[unique_id] = record
            self.voucher_index.write(unique_id, record, now, search_lag)
        self._on_change()
        return self._voucher_view(record, now)

    def update_voucher(self, location_ref: str, unique_id: str, payload: Mapping[str, Any], now: float, search_lag: float = 0.0) -> Record:
        with self._lock:
            current = self._voucher(location_ref, unique_id)
            values, errors = ct_rules.clean_voucher_update(payload, current)
            if errors:
                raise Invalid(errors)
            record = {**current, **values}
            self.vouchers[unique_id] = record
            self.voucher_index.write(unique_id, record, now, search_lag)
        self._on_change()
        return self._voucher_view(record, now)

    def delete_voucher(self, location_ref: str, unique_id: str, now: float = 0.0, search_lag: float = 0.0) -> None:
        with self._lock:
            self._voucher(location_ref, unique_id)
            del self.vouchers[unique_id]
            self.voucher_index.write(unique_id, None, now, search_lag)
        self._on_change()

    def _codes_of(self, voucher: Record) -> tuple[dict[str, Any], ...]:
        return voucher_codes(f"{self.data_seed}:{voucher['unique_id']}", voucher["quantity"], voucher["length"],
                             voucher["voucher_format"], voucher["_activated"], voucher["created_at"])

    def list_codes(self, location_ref: str, unique_id: str, activated: bool | None, now: float) -> list[dict[str, Any]]:
        """An incomplete batch has no codes yet."""
        with self._lock:
            voucher = self._voucher(location_ref, unique_id)
        if now < voucher["_ready_at"]:
            return []
        codes = self._codes_of(voucher)
        return [code for code in codes if activated is None or code["active"] is activated]

    # ---- boxes ----------------------------------------------------------------------------

    def _box_view(self, box: Record, now: float, heartbeat_lag: float = 0.0) -> Record:
        """The box as the API shows it; ``allowed_job`` only in the dashboard dialect (ids stay digit strings here).

        With ``heartbeat_lag``, a box that is up counts its uptime to now while its last heartbeat is that many
        seconds old: a box rebooted a moment ago shows a heartbeat from before its reboot.
        """
        view = _public(box)
        done_at = box["_action_done_at"]
        if done_at is not None and now >= done_at:
            view.update(state="online", is_online=True, last_heartbeat=int(done_at), uptime_seconds=0, allowed_job=True)
        elif done_at is not None:
            view["allowed_job"] = False  # the dashboard allows no job while one is running
        if heartbeat_lag > 0 and view["state"] in UP_STATES and view["last_heartbeat"] is not None and view["uptime_seconds"] is not None:
            booted = view["last_heartbeat"] - view["uptime_seconds"]
            view.update(uptime_seconds=max(0, int(now - booted)), last_heartbeat=int(now - heartbeat_lag))
        if not self.dialect.dashboard_boxes:
            view.pop("allowed_job", None)
        return view

    def _box(self, slug: str) -> Record:
        box_id = self.box_ids_by_slug.get(slug)
        if box_id is None:
            raise NotFound("Couldn't find Box")
        return self.boxes[box_id]

    def _settled_box(self, slug: str, now: float) -> Record:
        """The stored box with a finished action applied, so that a write starts from what readers saw."""
        box = self._box(slug)
        if box["_action_done_at"] is not None and now >= box["_action_done_at"]:
            box = {**box, **self._box_view(box, now), "_action_done_at": None, "_state_before": None}
            self.boxes[box["id"]] = box
        return box

    def list_boxes(self, filters: Mapping[str, str | None], now: float, heartbeat_lag: float = 0.0) -> list[Record]:
        """filters: location_id (slug or id), q, state, firmware_version, machine_type; None means unfiltered."""
        with self._lock:
            boxes = list(self.boxes.values())
            location_ref = filters.get("location_id")
            location_id = None
            if location_ref:
                location_id = location_ref if location_ref.isdigit() else self.location_ids_by_slug.get(location_ref, "")
        views = [self._box_view(box, now, heartbeat_lag) for box in boxes if location_id is None or box["location_id"] == location_id]
        needle = (filters.get("q") or "").casefold()
        return [
            view for view in views
            if (not needle or _matches(needle, *(view.get(field) for field in BOX_SEARCH_FIELDS)))
            and all(filters.get(field) in (None, view[field]) for field in ("state", "firmware_version", "machine_type"))
        ]

    def get_box(self, slug: str, now: float, heartbeat_lag: float = 0.0) -> Record:
        with self._lock:
            return self._box_view(self._box(slug), now, heartbeat_lag)

    def box_action(self, slug: str, payload: Mapping[str, Any], now: float, action_seconds: float, heartbeat_lag: float = 0.0) -> Record:
        with self._lock:
            box = self._settled_box(slug, now)
            action = payload.get("action")
            if action in (None, ""):
                raise Invalid({"action": [ct_rules.BLANK]})
            if action not in BOX_ACTIONS:
                raise Invalid({"action": [ct_rules.NOT_IN_LIST]})
            if box["state"] == "offline":
                if not self.dialect.dashboard_boxes:
                    raise Invalid({"action": ["box is offline"]})
                # "If the device is offline, it will reset next time it restarts": accepted, nothing visible happens now.
                return self._box_view(box, now, heartbeat_lag)
            if action == "cancel":
                if box["_action_done_at"] is None:
                    return self._box_view(box, now, heartbeat_lag)
                before = box["_state_before"]
                box = {**box, "state": before, "is_online": before in ("online", "splash_only"),
                       "_action_done_at": None, "_state_before": None}
            else:
                # A resync pushes configuration to a box that stays up; reboot and reset take it down.
                box = {**box, "state": BOX_ACTION_STATES[action], "is_online": action == "resync",
                       "_action_done_at": now + action_seconds, "_state_before": box["_state_before"] or box["state"]}
            self.boxes[box["id"]] = box
        self._on_change()
        return self._box_view(box, now, heartbeat_lag)

    def admin_set_box(self, slug: str, fields: Mapping[str, Any], now: float) -> Record:
        """Set public fields directly; any pending action is dropped. KeyError names an unknown field.

        A new ``state`` also sets ``allowed_job`` as the dashboard's heartbeat does (false only when offline),
        unless ``allowed_job`` is given too.
        """
        with self._lock:
            box = self._settled_box(slug, now)
            unknown = [field for field in fields if field not in box or field.startswith("_") or field in ("id", "slug")]
            if unknown:
                raise KeyError(unknown[0])
            heartbeat = {"allowed_job": fields["state"] != "offline"} if "state" in fields else {}
            box = {**box, **heartbeat, **fields, "_action_done_at": None, "_state_before": None}
            self.boxes[box["id"]] = box
        self._on_change()
        return self._box_view(box, now)
