"""Validation rules of CT locations and vouchers, with Rails' error messages.

Each `clean_*` function takes the body's inner object (`{"location": {…}}` →
`{…}`) and returns the permitted, type-cast values and an errors dict in the
shape of the 422 body. Unknown fields are dropped silently, like Rails strong
parameters; values are cast the way ActiveRecord casts them ("10" → 10).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

Errors = dict[str, list[str]]

BLANK = "can't be blank"
NOT_A_NUMBER = "is not a number"
NOT_AN_INTEGER = "must be an integer"
NOT_IN_LIST = "is not included in the list"
FIXED_AFTER_CREATION = "cannot be changed after creation"

# ---- casting --------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("is invalid")


def _as_number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(NOT_A_NUMBER)
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Invalid(NOT_A_NUMBER) from None


def _as_integer(value: Any) -> int:
    number = _as_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise _Invalid(NOT_AN_INTEGER)
        return int(number)
    return number


def _as_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise _Invalid(NOT_IN_LIST)


def _length(text: str, minimum: int | None, maximum: int | None) -> str | None:
    if minimum is not None and len(text) < minimum:
        return f"is too short (minimum is {minimum} characters)"
    if maximum is not None and len(text) > maximum:
        return f"is too long (maximum is {maximum} characters)"
    return None


def _range(number: float, minimum: float | None, maximum: float | None) -> str | None:
    if minimum is not None and number < minimum:
        return f"must be greater than or equal to {minimum}"
    if maximum is not None and number > maximum:
        return f"must be less than or equal to {maximum}"
    return None


class _Cleaner:
    """Collects cast values and Rails-style errors for one payload."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.values: dict[str, Any] = {}
        self.errors: Errors = {}

    def add_error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def text(self, field: str, minimum: int | None, maximum: int | None, required: bool = False) -> None:
        if field not in self.payload:
            if required:
                self.add_error(field, BLANK)
            return
        value = self.payload[field]
        if value is None:
            if required:
                self.add_error(field, BLANK)
            else:
                self.values[field] = None
            return
        try:
            text = _as_text(value)
        except _Invalid as error:
            self.add_error(field, error.message)
            return
        if required and not text.strip():
            self.add_error(field, BLANK)
            return
        problem = _length(text, minimum, maximum)
        if problem:
            self.add_error(field, problem)
        else:
            self.values[field] = text

    def number(self, field: str, minimum: float | None, maximum: float | None, integer: bool = False, required: bool = False) -> None:
        if field not in self.payload or self.payload[field] is None or self.payload[field] == "":
            if required:
                self.add_error(field, BLANK)
            elif field in self.payload:
                self.values[field] = None
            return
        try:
            number = _as_integer(self.payload[field]) if integer else _as_number(self.payload[field])
        except _Invalid as error:
            self.add_error(field, error.message)
            return
        problem = _range(number, minimum, maximum)
        if problem:
            self.add_error(field, problem)
        else:
            self.values[field] = number

    def choice(self, field: str, allowed: tuple[Any, ...], cast: Any = None, required: bool = False) -> None:
        if field not in self.payload or self.payload[field] is None:
            if required:
                self.add_error(field, BLANK)
            return
        value = self.payload[field]
        if cast:
            with contextlib.suppress(_Invalid):
                value = cast(value)
        if value in allowed and not isinstance(value, bool):
            self.values[field] = value
        else:
            self.add_error(field, NOT_IN_LIST)

    def boolean(self, field: str) -> None:
        if field not in self.payload:
            return
        try:
            self.values[field] = _as_boolean(self.payload[field])
        except _Invalid as error:
            self.add_error(field, error.message)


# ---- locations ------------------------------------------------------------------------------

LOCATION_OPTIONAL_TEXT = ("street", "phone1", "location_website", "location_type", "timezone", "development_mode", "meraki_secret")
LOCATION_STATES = ("active", "archived")
# (minimum, maximum) length of the required text fields: the dashboard's create form (locations/new/_index.html)
# and its settings form (locations/settings/_main.html), which allows more and has no minimum but the name's.
LOCATION_CREATE_LENGTHS = {"location_name": (5, 100), "location_address": (5, 200), "town": (3, 200), "postcode": (3, 8)}
LOCATION_UPDATE_LENGTHS = {"location_name": (5, 255), "location_address": (None, 255), "town": (None, 255), "postcode": (None, 255)}
COUNTRY_CODE = re.compile(r"^[a-z]{2}$")  # the country-select's lowercase ISO 3166-1 alpha-2 codes


def clean_location(payload: Mapping[str, Any], creating: bool) -> tuple[dict[str, Any], Errors]:
    """Create: the four address fields and the country are required. Update: only the fields sent are checked."""
    cleaner = _Cleaner(payload)
    lengths = LOCATION_CREATE_LENGTHS if creating else LOCATION_UPDATE_LENGTHS
    for field, (minimum, maximum) in lengths.items():
        cleaner.text(field, minimum, maximum, required=creating or field in payload)
    _country(cleaner, required=creating)
    for field in LOCATION_OPTIONAL_TEXT:
        cleaner.text(field, None, None)
    cleaner.boolean("daily_limit")
    cleaner.number("lat", -90, 90)
    cleaner.number("lng", -180, 180)
    if not creating:
        # The server sets `state: active` on create; archive/restore is an update.
        cleaner.choice("state", LOCATION_STATES)
    return cleaner.values, cleaner.errors


def _country(cleaner: _Cleaner, required: bool) -> None:
    if cleaner.payload.get("country") in (None, ""):
        if required or "country" in cleaner.payload:
            cleaner.add_error("country", BLANK)
        return
    value = cleaner.payload["country"]
    if isinstance(value, str) and COUNTRY_CODE.match(value):
        cleaner.values["country"] = value
    else:
        cleaner.add_error("country", NOT_IN_LIST)


# ---- vouchers -------------------------------------------------------------------------------

ACCESS_TIME, ACCESS_DATA = 1, 2
RESTRICT_PERIODS = ("", "daily", "weekly", "monthly", "all")
VOUCHER_FORMATS = ("alphanumeric", "numeric", "alpha", "words")
VOUCHER_DEFAULTS = {
    "idle_timeout": None,
    "simultaneous_use": 1,
    "access_restrict_period": "",
    "voucher_format": "alphanumeric",
    "download_speed": 2048,
    "upload_speed": 1024,
    "validity_minutes": None,
    "access_restrict_data": None,
    "access_period": None,
}
# splash_page_id: the edit form disables it once the batch exists (vouchers/_form.html).
VOUCHER_FIXED_FIELDS = ("quantity", "voucher_format", "access_restrict_period", "access_type", "length", "splash_page_id")
SINGLE_USE = "all"  # access_restrict_period "all" is the dashboard's "Single-use"
ACCESS_PERIOD_MAX = 43_201
# (minimum, maximum) of the integer settings; session_timeout's upper bound is validity_minutes.
VOUCHER_INTEGER_RANGES: dict[str, tuple[int, int | None]] = {
    "quantity": (10, 1000),
    "validity_minutes": (5, 518_412),
    "access_restrict_data": (50, 1_000_000),
    "session_timeout": (1, None),
    "length": (6, 50),
    "idle_timeout": (10, 43_200),
    "simultaneous_use": (1, 100),
    "download_speed": (56, 102_400),
    "upload_speed": (56, 102_400),
    "access_period": (1, ACCESS_PERIOD_MAX),
}
VOUCHER_REQUIRED = ("batch_name", "batch_description", "quantity", "access_type", "session_timeout", "length", "splash_page_id")


def _splash_page_id(cleaner: _Cleaner, required: bool) -> None:
    """A digit id or "external"; stored as a string, as CT ids are digit strings."""
    if "splash_page_id" not in cleaner.payload or cleaner.payload["splash_page_id"] in (None, ""):
        if required or "splash_page_id" in cleaner.payload:
            cleaner.add_error("splash_page_id", BLANK)
        return
    value = cleaner.payload["splash_page_id"]
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value
    if isinstance(text, str) and (text == "external" or text.isdigit()):
        cleaner.values["splash_page_id"] = text
    else:
        cleaner.add_error("splash_page_id", "must be a page id or \"external\"")


def _voucher_settings(cleaner: _Cleaner, fields: tuple[str, ...], required: tuple[str, ...]) -> None:
    for field in fields:
        is_required = field in required
        if field == "batch_name":
            cleaner.text(field, 1, 100, required=is_required)
        elif field == "batch_description":
            # The dashboard's form requires it (create and edit): blank is "can't be blank", as Rails' presence check says.
            cleaner.text(field, None, 255, required=is_required)
        elif field == "access_type":
            cleaner.choice(field, (ACCESS_TIME, ACCESS_DATA), cast=_as_integer, required=is_required)
        elif field == "access_restrict_period":
            cleaner.choice(field, RESTRICT_PERIODS)
        elif field == "voucher_format":
            cleaner.choice(field, VOUCHER_FORMATS)
        elif field == "splash_page_id":
            _splash_page_id(cleaner, is_required)
        elif field == "is_active":
            cleaner.boolean(field)
        else:
            minimum, maximum = VOUCHER_INTEGER_RANGES[field]
            cleaner.number(field, minimum, maximum, integer=True, required=is_required)


def _cross_check(cleaner: _Cleaner, merged: Mapping[str, Any]) -> None:
    """Rules between fields, on the voucher as it would be saved."""
    access_type = merged.get("access_type")
    if access_type == ACCESS_TIME:
        if merged.get("validity_minutes") is None and "validity_minutes" not in cleaner.errors:
            cleaner.add_error("validity_minutes", BLANK)
        session, validity = merged.get("session_timeout"), merged.get("validity_minutes")
        if session is not None and validity is not None and session > validity and "session_timeout" not in cleaner.errors:
            cleaner.add_error("session_timeout", "must be less than or equal to validity_minutes")
    elif access_type == ACCESS_DATA and merged.get("access_restrict_data") is None and "access_restrict_data" not in cleaner.errors:
        cleaner.add_error("access_restrict_data", BLANK)
    # "Single-Use Limit (mins)": required with single-use codes, at least validity_minutes.
    if merged.get("access_restrict_period") == SINGLE_USE and "access_period" not in cleaner.errors:
        period, validity = merged.get("access_period"), merged.get("validity_minutes")
        if period is None:
            cleaner.add_error("access_period", BLANK)
        elif validity is not None and period < validity:
            cleaner.add_error("access_period", "must be greater than or equal to validity_minutes")


VOUCHER_CREATE_FIELDS = (
    "batch_name", "batch_description", "quantity", "access_type", "validity_minutes", "access_restrict_data",
    "session_timeout", "length", "splash_page_id", "idle_timeout", "simultaneous_use", "access_restrict_period",
    "voucher_format", "download_speed", "upload_speed", "access_period",
)
VOUCHER_MUTABLE_FIELDS = (
    "is_active", "batch_name", "batch_description", "validity_minutes", "access_restrict_data", "session_timeout",
    "idle_timeout", "simultaneous_use", "download_speed", "upload_speed", "access_period",
)


def clean_voucher_create(payload: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    cleaner = _Cleaner(payload)
    _voucher_settings(cleaner, VOUCHER_CREATE_FIELDS, VOUCHER_REQUIRED)
    values = {**VOUCHER_DEFAULTS, **cleaner.values}
    _cross_check(cleaner, values)
    return values, cleaner.errors


def clean_voucher_update(payload: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    cleaner = _Cleaner(payload)
    for field in VOUCHER_FIXED_FIELDS:
        if field not in payload:
            continue
        probe = _Cleaner(payload)
        _voucher_settings(probe, (field,), ())
        if probe.values.get(field, object()) != current[field]:
            cleaner.add_error(field, FIXED_AFTER_CREATION)
    sent = tuple(field for field in VOUCHER_MUTABLE_FIELDS if field in payload)
    # batch_name and batch_description stay required: sending null or "" for them is an error.
    _voucher_settings(cleaner, sent, tuple(field for field in ("batch_name", "batch_description") if field in sent))
    _cross_check(cleaner, {**current, **cleaner.values})
    return cleaner.values, cleaner.errors
