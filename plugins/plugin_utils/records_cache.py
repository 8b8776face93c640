# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the inventory plugins keep in Ansible's inventory cache: the API records, raw.

Hosts, host variables and groups are rebuilt from the records on every run, so
changing ``compose``, ``keyed_groups``, ``hostnames`` or the host variable
options takes effect on the next run even when the cache is hit. (Caching the
built groups instead loses such edits until the cache expires, a bug other
inventory plugins had.)

The records are stored as one JSON text inside a small envelope, not as a
Python list: ansible-core's cache adjudicator deep-copies every value it writes
(a second or more and double the memory for 10,000 devices), and keeps what it
read alive for the whole run. A string costs nothing to copy, and the parsed
list can be freed as soon as the hosts are built.

The cache key holds a digest of everything that changes *which* records the API
returns (URL, client, server-side filters): a different query never reads
another query's records. Options applied while building hosts are not in it.

The cache is a file anyone with access to the cache directory can read: fields
the contract marks secret are masked before records are stored, and when read
back from a cache an older version wrote. The JSON text is searched for them
first, so records without any cost no walk.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.secret_fields import mask_secret_fields, mentions_secret_field

FORMAT = 1


def cache_key(base: str, query: Mapping[str, Any]) -> str:
    """``base`` (the plugin's per-file key) plus a digest of the query the records came from."""
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:12]
    return f"{base}_{digest}"


def encode(records: list[dict[str, Any]]) -> dict[str, Any]:
    # ensure_ascii keeps the text one byte per character in memory (one emoji would make it four).
    text = json.dumps(records, separators=(",", ":"))
    if mentions_secret_field(text):
        text = json.dumps(mask_secret_fields(records), separators=(",", ":"))
    return {"format": FORMAT, "count": len(records), "records": text}


def decode(value: Any) -> list[dict[str, Any]] | None:
    """The records of a cache value, or None when the value is not one of ours (then the API is asked)."""
    if not isinstance(value, dict) or value.get("format") != FORMAT or not isinstance(value.get("records"), str):
        return None
    try:
        records = json.loads(value["records"])
    except ValueError:
        return None
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        return None
    return mask_secret_fields(records) if mentions_secret_field(value["records"]) else records
