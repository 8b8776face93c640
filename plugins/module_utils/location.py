# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CT locations: the option <-> API field table, input rules, and the API calls.

The only file that knows location paths and field names (``docs/api-contract.md``,
"Locations"). The natural key is the name; the API does not enforce unique names,
so a name that matches several locations is an error that lists them.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils.engine import UPDATE, Field, Plan, Shape, index_by_key, only_match
from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils.resource import Resource
from ansible_collections.ctcloud.cloud.plugins.module_utils.schemas import CT_LOCATION, CT_LOCATION_LIST

# state option -> API state; "absent" never reaches the API (it deletes). The API's `archived` mirrors `state`
# (docs/api-contract.md, "archive / restore"): SHAPE derives it, so that check mode predicts it too.
_LIFECYCLE_TO_API = {"present": "active", "archived": "archived"}
_LIFECYCLE_FROM_API = {"active": "present", "archived": "archived"}

SHAPE = Shape(
    "location",
    [
        Field("name", "location_name"),
        Field("address", "location_address"),
        Field("street", "street"),
        Field("town", "town"),
        Field("postcode", "postcode"),
        Field("phone", "phone1"),
        Field("website", "location_website"),
        Field("location_type", "location_type"),
        Field("timezone", "timezone"),
        Field("development_mode", "development_mode"),
        Field("daily_limit", "daily_limit"),
        Field("latitude", "lat"),
        Field("longitude", "lng"),
        # Archive/restore is a PATCH of `state`; a new location is always active first.
        Field(
            "state",
            "state",
            on_create=False,
            to_api=lambda value: _LIFECYCLE_TO_API.get(value, value),
            from_api=lambda value: _LIFECYCLE_FROM_API.get(value, value),
        ),
    ],
    key="name",
    identity=("id", "slug"),
    derive=lambda location: dict(location, archived=location["state"] == "archived") if "state" in location else location,
)

# Text limits from the dashboard's form (docs/api-contract.md).
_TEXT_RULES = {
    "name": (5, 100),
    "address": (5, 200),
    "town": (3, 100),
    "postcode": (3, 8),
    "street": (0, 200),
    "phone": (0, 50),
    "website": (0, 255),
    "location_type": (0, 100),
    "timezone": (0, 100),
    "development_mode": (0, 100),
}

ENTRY_OPTIONS = {
    "id": {"type": "str"},
    "name": {"type": "str"},
    "address": {"type": "str"},
    "street": {"type": "str"},
    "town": {"type": "str"},
    "postcode": {"type": "str"},
    "phone": {"type": "str"},
    "website": {"type": "str"},
    "location_type": {"type": "str"},
    "timezone": {"type": "str"},
    "development_mode": {"type": "str"},
    "daily_limit": {"type": "bool"},
    "latitude": {"type": "float"},
    "longitude": {"type": "float"},
    "state": {"type": "str", "default": "present", "choices": ["present", "archived", "absent"]},
}


def validate(options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Clean location options (as the module or one ct_locations entry gives them); raise InputError."""
    clean = {name: options.get(name) for name in ENTRY_OPTIONS}
    prefix = where + "." if where else ""
    for name, (shortest, longest) in _TEXT_RULES.items():
        if clean[name] is not None:
            # A blank optional field means "clear it"; required-on-create fields may not be blank.
            if shortest == 0 and not str(clean[name]).strip():
                clean[name] = ""
                continue
            clean[name] = validation.text(clean[name], prefix + name, shortest, longest)
    clean["latitude"] = validation.coordinate(clean["latitude"], prefix + "latitude", 90)
    clean["longitude"] = validation.coordinate(clean["longitude"], prefix + "longitude", 180)
    if clean["id"] is not None:
        clean["id"] = validation.id_or_slug(clean["id"], prefix + "id")
    if clean["id"] is None and clean["name"] is None:
        raise InputError(f"{where or 'a location'} needs a name or an id", prefix + "name")
    return clean


class LocationResource(Resource):
    shape = SHAPE
    new_defaults = {"id": None, "slug": None, "state": "active", "archived": False}
    required_on_create = ("name", "address", "town", "postcode")

    def find(self, options: Mapping[str, Any]) -> dict[str, Any] | None:
        if options.get("id") is not None:
            try:
                return self.client.request("GET", ["locations", options["id"]], schema=CT_LOCATION)
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
        return self.find_by_key(options["name"])

    def find_by_key(self, key_value: Any) -> dict[str, Any] | None:
        # `q` narrows the list server-side (a substring match); the exact match is ours.
        candidates = self.client.list_all("locations", "locations", CT_LOCATION_LIST, params={"q": key_value})
        index = index_by_key(self.shape, candidates)
        return only_match(self.shape, index.get(self.shape.by_option["name"].compare(key_value), []), key_value)

    def list_all(self, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.client.list_all("locations", "locations", CT_LOCATION_LIST, params=params)

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._write("POST", ["locations"], payload)

    def update(self, current: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        return self._write("PATCH", ["locations", current["id"]], payload)

    def delete(self, current: dict[str, Any]) -> None:
        self.client.request("DELETE", ["locations", current["id"]])

    def outcome(self, item: Plan) -> str:
        if item.action == UPDATE and item.payload.get("state") == "archived":
            return "archived"
        return super().outcome(item)  # a restore is an update

    def _write(self, method: str, segments: list[Any], payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.client.request(method, segments, body={"location": payload}, schema=CT_LOCATION)
        except ApiError as exc:
            raise self.explain(exc) from None


def find_location(client: Any, ref: str) -> dict[str, Any] | None:
    """A location by id, slug or name, for modules that point at one (vouchers, boxes); None if there is none.

    A reference shaped like an id or slug is read directly first; a 404 (or any other shape) is then
    looked up as a name, and a name shared by several locations fails listing them.
    """
    locations = LocationResource(client)
    try:
        reference = validation.id_or_slug(ref, "location")
    except InputError:
        reference = None  # spaces, capitals...: only a name can look like that
    if reference is not None:
        found = locations.find({"id": reference})
        if found is not None:
            return found
    return locations.find_by_key(ref)


def missing_location(ref: str) -> CtCloudError:
    """The error for a location reference that :func:`find_location` found nothing for."""
    return CtCloudError(f"location {ref!r} does not exist (looked up as an id or slug, then as a name)", {"field": "location"})
