# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tests compare and search: emulator state by content, token stores, secrets in output."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Fields of a state dump that legitimately differ between two runs of the same playbook, and why:
# - created_at / updated_at (locations, vouchers): wall-clock seconds of the write.
# - last_heartbeat / uptime_seconds (boxes): a rebooted box reports the time it came back and counts up from 0;
#   both depend on when the reboot happened, not on what was done.
# Everything else, including ids, slugs and voucher unique_ids, must be equal: the emulator derives them
# from its seed and a creation counter, so a create that happened twice (or in another order) shows here.
VOLATILE_FIELDS = {
    "locations": ("created_at", "updated_at"),
    "vouchers": ("created_at",),
    "boxes": ("last_heartbeat", "uptime_seconds"),
}


def comparable_state(state: dict[str, Any]) -> dict[str, Any]:
    """A state dump without the volatile fields, every list in a stable order."""
    result: dict[str, Any] = {}
    for kind, records in state.items():
        if kind == "codes":
            result[kind] = dict(sorted(records.items()))
            continue
        drop = VOLATILE_FIELDS.get(kind, ())
        cleaned = [{key: value for key, value in record.items() if key not in drop} for record in records]
        result[kind] = sorted(cleaned, key=lambda record: json.dumps(record, sort_keys=True))
    return result


def state_differences(first: dict[str, Any], second: dict[str, Any], limit: int = 20) -> list[str]:
    """Readable differences between two comparable states (empty when equal)."""
    differences = []
    for kind in sorted(set(first) | set(second)):
        left, right = first.get(kind), second.get(kind)
        if left == right:
            continue
        if isinstance(left, list) and isinstance(right, list):
            left_set = {json.dumps(record, sort_keys=True) for record in left}
            right_set = {json.dumps(record, sort_keys=True) for record in right}
            differences += [f"{kind} only in the first: {record}" for record in sorted(left_set - right_set)]
            differences += [f"{kind} only in the second: {record}" for record in sorted(right_set - left_set)]
        else:
            differences.append(f"{kind} differ")
    return differences[:limit]


def duplicates(state: dict[str, Any]) -> list[str]:
    """Location names and (location, batch name) pairs that occur more than once."""
    names = Counter(location["location_name"] for location in state["locations"])
    batches = Counter((voucher["location_id"], voucher["batch_name"]) for voucher in state["vouchers"])
    return [f"location {name!r} x{count}" for name, count in names.items() if count > 1] + [
        f"voucher batch {key!r} x{count}" for key, count in batches.items() if count > 1
    ]


# ---- token stores ----------------------------------------------------------------------------


def store_entries(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["entries"]


def stored_ct_entry(path: Path) -> dict[str, Any] | None:
    """The CT client's refresh chain (``ct|<auth_url>|<client_id>``) merged with its one API's access token (that key plus ``|<origin>``)."""
    entries = {key: entry for key, entry in store_entries(path).items() if key.startswith("ct|")}
    chains = [key for key in entries if key.count("|") == 2]
    assert len(chains) <= 1, f"several CT clients in {path}"
    if not chains:
        return None
    access = [key for key in entries if key.startswith(chains[0] + "|")]
    assert len(access) <= 1, f"access tokens for several CT APIs in {path}"
    return {**entries[chains[0]], **(entries[access[0]] if access else {})}


# ---- secrets ---------------------------------------------------------------------------------

TOKEN_KEYS = ("access_token", "refresh_token", "previous_refresh_token", "client_secret")


def tokens_in(data: Any) -> set[str]:
    """Every value of a token-like key anywhere in a JSON document."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in TOKEN_KEYS and isinstance(value, str) and value:
                found.add(value)
            else:
                found |= tokens_in(value)
    elif isinstance(data, list):
        for item in data:
            found |= tokens_in(item)
    return found


def tokens_in_json_bytes(payload: bytes) -> set[str]:
    try:
        return tokens_in(json.loads(payload.decode("utf-8")))
    except ValueError:
        return set()


def secret_forms(secrets: Iterable[str], basic_pairs: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """``{text to search for: label}``: each secret as is, and each Basic-auth credential pair as its header value."""
    forms = {secret: f"secret {secret[:4]}...({len(secret)} chars)" for secret in secrets if secret}
    for client_id, client_secret in basic_pairs:
        encoded = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        forms[encoded] = f"Basic credentials of client {client_id[:8]}..."
    return forms


def find_leaks(texts: dict[str, str], forms: dict[str, str], context: int = 100) -> list[str]:
    """Where each secret form occurs, with the text before it: ``["failures stdout: secret abcd...(64 chars) after '...'"]``."""
    leaks = []
    for where, text in texts.items():
        for needle, label in forms.items():
            position = text.find(needle)
            if position >= 0:
                leaks.append(f"{where}: {label} after {text[max(0, position - context):position]!r}")
    return leaks
