# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reply shapes the client relies on, checked with jsonschema.

They live here as Python data because AnsiballZ ships Python module_utils only.
Each schema states what our code reads, not everything the API may send:
extra fields are always allowed, and list items are checked shallowly (a deep
check of 10,000 devices costs half a second; the fields the inventory uses are
read defensively anyway). See ``docs/api-contract.md`` for the sources.
"""

from __future__ import annotations

import traceback
from typing import Any

from ansible_collections.ctcloud.cloud.plugins.module_utils.errors import ApiError

try:
    import jsonschema
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_NULLABLE_INT = {"type": ["integer", "null"]}
_BOOL = {"type": "boolean"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_OBJECT = {"type": "object"}
_NULLABLE_OBJECT = {"type": ["object", "null"]}
_ID = {"type": ["string", "integer"]}  # CT sends digit strings (seed); tolerate numbers


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
        "archived": {"type": ["boolean", "null"]},
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
        "completed": {"type": ["boolean", "null"]},
        "is_active": {"type": ["boolean", "null"]},
    },
}
CT_VOUCHER_LIST = _ct_list("vouchers", {"type": "object", "required": ["unique_id", "batch_name"]})
CT_CODE_LIST = _ct_list("codes", {"type": "object", "required": ["username"]})

CT_BOX = {
    "type": "object",
    "required": ["slug", "state"],
    "properties": {"slug": _STRING, "state": _STRING, "calledstationid": _NULLABLE_STRING, "is_online": {"type": ["boolean", "null"]}},
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


def check(schema: dict[str, Any], data: Any, method: str, url: str, status: int | None = None) -> Any:
    """Return ``data`` if it has the shape ``schema`` describes, else raise ApiError naming the first problem."""
    if not HAS_JSONSCHEMA:  # modules check earlier and report missing_required_lib
        raise ApiError("the Python library 'jsonschema' is required", method, url, status)
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
