# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""CT locations: the option <-> API field table, input rules, and the API calls.

The only file that knows location paths and field names (``docs/api-contract.md``,
"Locations" and its "Corrections"). The natural key is the name, found with the
exact ``location_name`` filter; the API does not enforce unique names, so a name
that matches several locations is an error that lists them.

What the real API is seen to do, and this file evens out (the dashboard's source):
replies may carry no ``state`` (only ``archived``, as ``true``/``false`` or ``1``/``0``);
a rename gives the location a new slug, so only the numeric id identifies it
across writes; a delete may be refused ("You cannot delete a location with session
data"); and the create form is stricter than the settings form.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.ct import field_errors, with_booleans
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.schemas import CT_LOCATION, CT_LOCATION_LIST
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import UPDATE, Field, Plan, SetPlan, Shape, canonical_name
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import DeleteRefusedError, Resource

# state option -> API state; "absent" never reaches the API (it deletes). The API's `archived` mirrors `state`
# (docs/api-contract.md, "archive / restore"): SHAPE derives it, so that check mode predicts it too.
_LIFECYCLE_TO_API = {"present": "active", "archived": "archived"}
_LIFECYCLE_FROM_API = {"active": "present", "archived": "archived"}
_STATES = tuple(_LIFECYCLE_FROM_API)

SHAPE = Shape(
    "location",
    [
        Field("name", "location_name", compare=canonical_name),
        Field("address", "location_address"),
        Field("street", "street"),
        Field("town", "town"),
        Field("postcode", "postcode"),
        Field("country", "country"),
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
    recomputed={"location_name": ("slug",)},
)

# Text limits (minimum, maximum) of the dashboard's settings form, which edits a location that exists
# (locations/settings/_main.html): every value sent is checked against these before any request.
_TEXT_RULES = {
    "name": (5, 255),
    "address": (1, 255),
    "town": (1, 255),
    "postcode": (1, 255),
    "street": (0, 200),
    "phone": (0, 50),
    "website": (0, 255),
    "location_type": (0, 100),
    "timezone": (0, 100),
    "development_mode": (0, 100),
}
# The create form's (locations/new/_index.html): checked once a plan creates the location, before any write.
_CREATE_TEXT_RULES = {"name": (5, 100), "address": (5, 200), "town": (3, 200), "postcode": (3, 8)}
_COUNTRY = re.compile(r"^[a-z]{2}$")  # the dashboard's country-select: lowercase ISO 3166-1 alpha-2 codes

ENTRY_OPTIONS = {
    "id": {"type": "str"},
    "name": {"type": "str"},
    "address": {"type": "str"},
    "street": {"type": "str"},
    "town": {"type": "str"},
    "postcode": {"type": "str"},
    "country": {"type": "str"},
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
    """Clean location options (as the module or one ct_locations entry gives them); raise InputError.

    Every problem of the options is reported in the one error, not only the first.
    """
    clean = {name: options.get(name) for name in ENTRY_OPTIONS}
    prefix = where + "." if where else ""
    problems: list[InputError] = []

    def check(name: str, rule: Any, *arguments: Any) -> None:
        try:
            clean[name] = rule(clean[name], prefix + name, *arguments)
        except InputError as exc:
            problems.append(exc)

    for name, (shortest, longest) in _TEXT_RULES.items():
        if clean[name] is not None:
            # A blank optional field means "clear it"; required-on-create fields may not be blank.
            if shortest == 0 and not str(clean[name]).strip():
                clean[name] = ""
                continue
            check(name, validation.text, shortest, longest)
    if clean["country"] is not None:
        check("country", country_code)
    check("latitude", validation.coordinate, 90)
    check("longitude", validation.coordinate, 180)
    if clean["id"] is not None:
        check("id", validation.id_or_slug)
    if options.get("id") is None and options.get("name") is None:
        problems.append(InputError(f"{where or 'a location'} needs a name or an id", prefix + "name"))
    if problems:
        raise InputError("; ".join(problem.message for problem in problems), problems[0].field)
    return clean


def country_code(value: Any, field: str) -> str:
    """A country as the create form sends it: ``gb``, ``us``... (``GB`` is taken as ``gb``)."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _COUNTRY.match(text):
        raise InputError(f"{field} must be a two-letter ISO 3166-1 country code like gb or us, got {value!r}", field)
    return text


def from_reply(location: dict[str, Any]) -> dict[str, Any]:
    """A location as every reply shape may spell it, evened out: a digit-string id, Rails booleans as booleans,
    and ``state`` derived from ``archived`` when the API leaves it out (the dashboard reads only ``archived``)."""
    location = with_booleans(location, ("archived", "daily_limit"))
    if isinstance(location.get("id"), int):
        location["id"] = str(location["id"])
    if location.get("state") is None and isinstance(location.get("archived"), bool):
        location["state"] = "archived" if location["archived"] else "active"
    elif location.get("archived") is None and location.get("state") in _STATES:
        location["archived"] = location["state"] == "archived"
    return location


class LocationResource(Resource):
    api_name = "CT"

    def field_errors(self, exc: ApiError) -> dict[str, list[str]]:
        return field_errors(exc)  # CT's 422 body: {"errors": {field: [message]}}

    shape = SHAPE
    new_defaults = {"id": None, "slug": None, "state": "active", "archived": False}
    required_on_create = ("name", "address", "town", "postcode", "country")
    body_key = "location"
    schema = CT_LOCATION
    list_key = "locations"
    list_schema = CT_LOCATION_LIST
    key_filter = "location_name"
    unique_key_on_rename = True  # an archived location's name too: declaring it would then be ambiguous

    def path(self, *rest: Any) -> list[Any]:
        return ["locations", *rest]

    def from_reply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return from_reply(obj)

    def delete(self, current: dict[str, Any]) -> None:
        try:
            super().delete(current)
        except ApiError as exc:
            if exc.status is None or exc.status < 400 or exc.status >= 500 or exc.status in (401, 404, 429):
                raise
            raise DeleteRefusedError(
                exc,
                f"location {current.get('location_name')!r} (id {current.get('id')})",
                "Archive instead (state: archived): an archived location keeps its data and can be restored",
                self.api_name,
            ) from None

    def invalid_for_create(self, options: Mapping[str, Any], where: str = "") -> list[str]:
        prefix = where + "." if where else ""
        problems = []
        for name, (shortest, longest) in _CREATE_TEXT_RULES.items():
            value = options.get(name)
            if value is not None and not shortest <= len(value) <= longest:
                problems.append(
                    f"{prefix}{name} must be {shortest} to {longest} characters to create a location (CT's create form), got "
                    f"{len(value)}; a location that exists takes up to 255"
                )
        return problems

    def outcome(self, item: Plan) -> str:
        if item.action == UPDATE and item.payload.get("state") == "archived":
            return "archived"
        return super().outcome(item)  # a restore is an update


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
        found = locations.get(reference)
        if found is not None:
            return found
    return locations.find_by_key(ref)


def missing_location(ref: str) -> CtCloudError:
    """The error for a location reference that :func:`find_location` found nothing for."""
    return CtCloudError(f"location {ref!r} does not exist (looked up as an id or slug, then as a name)", {"field": "location"})


# -- purge guards --------------------------------------------------------------

DEFAULT_PURGE_MAX_SHARE = 0.5  # a purge that takes out more than half of the account is almost always a mistake
NAMES_SHOWN = 20


class PurgeRefusedError(CtCloudError):
    """A purge that would archive or delete more of the account than the user allowed; nothing was written."""


def is_archived(location: Mapping[str, Any]) -> bool:
    """A location's lifecycle as the API shows it: ``archived`` may be a boolean or 0/1, ``state`` may be missing."""
    return location.get("archived") in (True, 1) or location.get("state") == "archived"


def check_purge(set_plan: SetPlan, declared: int, purge: str, max_share: float) -> None:
    """Refuse, before any write, a purge that takes out more than ``max_share`` of the account's locations.

    The share counts what the purge can take out: active locations for ``archive``, every location for
    ``delete``. An empty declaration (``declared == 0``) purges everything it can, so it is refused whenever
    the purge would change anything, unless ``max_share`` is 1 (every location).
    """
    purged = [label for label, item in zip(set_plan.labels[declared:], set_plan.plans[declared:]) if item.changed]
    if not purged:
        return
    existing = [item.current for item in set_plan.plans if item.current is not None]
    candidates = existing if purge == "delete" else [location for location in existing if not is_archived(location)]
    kind = "locations" if purge == "delete" else "active locations"
    verb = "delete" if purge == "delete" else "archive"
    share = len(purged) / max(len(candidates), len(purged))
    # Quoted: location names often hold commas ("The Grand Hotel, Nottingham").
    shown = ", ".join(map(repr, purged[:NAMES_SHOWN])) + (f" and {len(purged) - NAMES_SHOWN} more" if len(purged) > NAMES_SHOWN else "")
    details = {"field": "purge_max_share", "purge": purge, "count": len(purged), "of": len(candidates), "locations": purged}
    if declared == 0 and max_share < 1:
        raise PurgeRefusedError(
            f"locations is empty, so purge: {purge} would {verb} all {len(purged)} {kind} of the account: {shown}. "
            "Nothing was changed. An empty list is usually a variable that was not defined (or defaulted to []); "
            f"to {verb} every location on purpose, set purge_max_share: 1.0",
            details,
        )
    if share > max_share:
        raise PurgeRefusedError(
            f"purge: {purge} would {verb} {len(purged)} of the account's {len(candidates)} {kind} ({share:.0%}), more than "
            f"purge_max_share allows ({max_share:.0%}): {shown}. Nothing was changed. A declared list that is too short "
            "(the wrong vars file, a filter that dropped entries) looks exactly like this; if it is what you want, "
            "raise purge_max_share (1.0 allows any share)",
            details,
        )
