# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""The reply shapes the client relies on, checked with jsonschema.

They live here as Python data because AnsiballZ ships Python module_utils only.
Each schema states what our code reads, not everything the API may send:
extra fields are always allowed, and list items are checked shallowly (a deep
check of 10,000 devices costs half a second; the fields the inventory uses are
read defensively anyway). See ``docs/api-contract.md`` for the sources.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError

# jsonschema is imported only to explain a reply that does not conform: importing it
# costs about 30 ms, a tenth of a small module's run (tests/benchmark, "one GET task").
# Whether a reply conforms is decided by _conforms() below for the keywords these
# schemas use; a schema with any other keyword is left to jsonschema entirely.
HAS_JSONSCHEMA = importlib.util.find_spec("jsonschema") is not None
JSONSCHEMA_IMPORT_ERROR: str | None = None if HAS_JSONSCHEMA else "No module named 'jsonschema'"

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_NULLABLE_INT = {"type": ["integer", "null"]}
_BOOL = {"type": "boolean"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_OBJECT = {"type": "object"}
_NULLABLE_OBJECT = {"type": ["object", "null"]}
_ID = {"type": ["string", "integer"]}  # CT sends digit strings (seed) or integers (box ids, dashboard)
# Rails booleans: true/false, or 1/0 as the dashboard tests `location.archived === 1 || location.archived === true`.
_RAILS_BOOL = {"type": ["boolean", "integer", "null"]}


def _ct_list(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key, "_links"],
        "properties": {
            key: {"type": "array", "items": item},
            "_links": {
                "type": "object",
                "properties": {
                    "current_page": _NULLABLE_INT,
                    "total_pages": _NULLABLE_INT,
                    "next_page": _NULLABLE_INT,  # null (seed) or 0 (dashboard) on the last page
                    "total_entries": _NULLABLE_INT,
                },
            },
        },
    }


CT_TOKEN = {
    "type": "object",
    "required": ["access_token", "refresh_token"],
    "properties": {
        "access_token": _STRING,
        "refresh_token": _STRING,
        "token_type": _STRING,
        "expires_in": _NULLABLE_INT,
        "created_at": _NULLABLE_INT,
    },
}

CTHINGS_TOKEN = {
    "type": "object",
    "required": ["access_token"],
    "properties": {"access_token": _STRING, "expires_in": _NULLABLE_INT, "token_type": _STRING},
}

CT_LOCATION = {
    "type": "object",
    "required": ["id", "location_name"],
    "properties": {
        "id": _ID,
        "location_name": _STRING,
        "slug": _NULLABLE_STRING,
        "state": _NULLABLE_STRING,
        "archived": _RAILS_BOOL,
        "daily_limit": _RAILS_BOOL,
        "lat": _NULLABLE_NUMBER,
        "lng": _NULLABLE_NUMBER,
    },
}
CT_LOCATION_LIST = _ct_list("locations", {"type": "object", "required": ["id", "location_name"]})

CT_VOUCHER = {
    "type": "object",
    "required": ["unique_id", "batch_name"],
    "properties": {
        "unique_id": _STRING,
        "batch_name": _STRING,
        "quantity": _NULLABLE_INT,
        "completed": _RAILS_BOOL,
        "is_active": _RAILS_BOOL,
    },
}
CT_VOUCHER_LIST = _ct_list("vouchers", {"type": "object", "required": ["unique_id", "batch_name"]})
CT_CODE_LIST = _ct_list("codes", {"type": "object", "required": ["username"]})

CT_BOX = {
    "type": "object",
    "required": ["slug", "state"],
    "properties": {
        "id": _ID,
        "slug": _STRING,
        "state": _STRING,
        "calledstationid": _NULLABLE_STRING,
        "is_online": _RAILS_BOOL,
        "allowed_job": _RAILS_BOOL,
    },
}
CT_BOX_LIST = _ct_list("boxes", {"type": "object", "required": ["slug", "state"]})

CTHINGS_ENVELOPE = {
    "type": "object",
    "required": ["code", "data"],
    "properties": {"code": _INT, "links": {"type": ["object", "array", "null"]}, "message": _NULLABLE_STRING},
}
CTHINGS_DEVICE = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": _STRING,
        "name": _NULLABLE_STRING,
        "active": {"type": ["boolean", "null"]},
        "type": _NULLABLE_OBJECT,
        "connection": _NULLABLE_OBJECT,
        "entity": _NULLABLE_OBJECT,
        "node": _NULLABLE_OBJECT,
        "location": _NULLABLE_OBJECT,
    },
}
CTHINGS_DEVICE_LIST = {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": _STRING}}}
CTHINGS_READING_LIST = {"type": "array", "items": {"type": "object", "required": ["dtm", "data"], "properties": {"dtm": _STRING, "data": _OBJECT}}}

_validators: dict[int, Any] = {}

# The keywords _conforms() decides exactly as jsonschema's Draft7Validator does.
FAST_KEYWORDS = frozenset(("type", "required", "properties", "items"))
_TYPE_CHECKS = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "null": lambda value: value is None,
    "boolean": lambda value: isinstance(value, bool),
    # Draft 7: booleans are not numbers, and 1.0 is an integer.
    "integer": lambda value: (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer()),
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
}


def _conforms(schema: dict[str, Any], data: Any) -> bool | None:
    """True or False as Draft7Validator would decide; None when ``schema`` uses a keyword outside FAST_KEYWORDS."""
    if not FAST_KEYWORDS.issuperset(schema):
        return None
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if any(name not in _TYPE_CHECKS for name in names):
            return None
        if not any(_TYPE_CHECKS[name](data) for name in names):
            return False
    verdict: bool | None = True
    if isinstance(data, dict):
        if any(name not in data for name in schema.get("required", ())):
            return False
        for name, subschema in schema.get("properties", {}).items():
            if name in data:
                inner = _conforms(subschema, data[name])
                if inner is False:
                    return False
                if inner is None:
                    verdict = None
    if isinstance(data, list) and "items" in schema:
        items = schema["items"]
        if not isinstance(items, dict):
            return None  # a tuple of schemas: jsonschema decides
        for item in data:
            inner = _conforms(items, item)
            if inner is False:
                return False
            if inner is None:
                verdict = None
    return verdict


def check(schema: dict[str, Any], data: Any, method: str, url: str, status: int | None = None) -> Any:
    """Return ``data`` if it has the shape ``schema`` describes, else raise ApiError naming the first problem."""
    if _conforms(schema, data):
        return data
    if not HAS_JSONSCHEMA:  # modules check earlier and report missing_required_lib
        raise ApiError("the Python library 'jsonschema' is required", method, url, status)
    import jsonschema  # pylint: disable=import-outside-toplevel  # see HAS_JSONSCHEMA

    validator = _validators.get(id(schema))
    if validator is None:
        validator = jsonschema.Draft7Validator(schema)
        _validators[id(schema)] = validator
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise ApiError(f"unexpected reply shape at {where}: {_describe(error)}", method, url, status)
    return data


def _describe(error: Any) -> str:
    # Built from the schema, never from the instance: a mistyped token value must not be echoed.
    if error.validator == "required":
        return error.message  # "'name' is a required property"
    if error.validator == "type":
        return "expected {}".format(" or ".join(error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]))
    return f"fails the {error.validator!r} rule"
