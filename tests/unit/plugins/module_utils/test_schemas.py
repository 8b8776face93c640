# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""schemas.check decides conformance without importing jsonschema, exactly as jsonschema would."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import schemas
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError

SCHEMAS = {name: value for name, value in vars(schemas).items() if name.isupper() and isinstance(value, dict) and "type" in value}
SAMPLES = [None, True, False, 0, 7, -3, 1.0, 2.5, "", "text", [], [1], {}, {"a": 1}]


def walk(schema):
    yield schema
    for subschema in schema.get("properties", {}).values():
        yield from walk(subschema)
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"])


def minimal(schema):
    """The smallest instance that conforms to ``schema``."""
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {name: minimal(schema.get("properties", {}).get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(schema["items"])] if isinstance(schema.get("items"), dict) else []
    return {"string": "s", "integer": 1, "number": 1.5, "boolean": True, "null": None}[kind]


def variants(schema):
    """Instances around the minimal one: every property and item replaced by every sample, every required key dropped."""
    base = minimal(schema)
    yield base
    yield from SAMPLES
    if isinstance(base, dict):
        for name in schema.get("required", []):
            dropped = dict(base)
            del dropped[name]
            yield dropped
        for name, subschema in schema.get("properties", {}).items():
            for sample in [*SAMPLES, minimal(subschema)]:
                yield {**base, name: copy.deepcopy(sample)}
            for inner in variants(subschema):
                yield {**base, name: inner}
    if isinstance(base, list) and isinstance(schema.get("items"), dict):
        for inner in variants(schema["items"]):
            yield [*base, inner]


def test_every_schema_is_decided_by_the_fast_path():
    assert SCHEMAS, "no schema found"
    for name, schema in SCHEMAS.items():
        for part in walk(schema):
            assert schemas.FAST_KEYWORDS.issuperset(part), f"{name} uses {sorted(set(part) - schemas.FAST_KEYWORDS)}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_fast_path_agrees_with_jsonschema(name):
    schema = SCHEMAS[name]
    validator = jsonschema.Draft7Validator(schema)
    checked = 0
    for instance in variants(schema):
        assert schemas._conforms(schema, instance) is validator.is_valid(instance), (name, instance)
        checked += 1
    assert checked > len(SAMPLES)


def test_unknown_keyword_is_left_to_jsonschema():
    schema = {"type": "object", "properties": {"state": {"type": "string", "enum": ["online"]}}}
    assert schemas._conforms(schema, {"state": "offline"}) is None
    with pytest.raises(ApiError, match="unexpected reply shape at state"):
        schemas.check(schema, {"state": "offline"}, "GET", "https://api.example/boxes/x")
    assert schemas.check(schema, {"state": "online"}, "GET", "https://api.example/boxes/x") == {"state": "online"}


def test_a_nonconforming_reply_is_explained_by_jsonschema():
    with pytest.raises(ApiError, match=r"unexpected reply shape at data/0/id: expected string"):
        schemas.check({"type": "object", "properties": {"data": schemas.CTHINGS_DEVICE_LIST}}, {"data": [{"id": 5}]}, "GET", "u")
    with pytest.raises(ApiError, match="'access_token' is a required property"):
        schemas.check(schemas.CTHINGS_TOKEN, {"token_type": "Bearer"}, "POST", "u")


def test_conforming_replies_do_not_import_jsonschema():
    root = str(Path(os.path.abspath(schemas.__file__)).parents[6])  # the directory holding ansible_collections
    code = (
        "import sys\n"
        "from ansible_collections.ctcloud.cloud.plugins.module_utils._api import schemas\n"
        "assert schemas.HAS_JSONSCHEMA\n"
        "schemas.check(schemas.CTHINGS_DEVICE, {'id': 'x', 'name': None, 'active': True}, 'GET', 'u')\n"
        "schemas.check(schemas.CT_LOCATION_LIST, {'locations': [{'id': '1', 'location_name': 'n'}], '_links': {}}, 'GET', 'u')\n"
        "print('jsonschema' in sys.modules)\n"
    )
    reply = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=root), capture_output=True, text=True, check=True)
    assert reply.stdout.strip() == "False"
