"""Login codes of a voucher batch.

Codes are never stored: they follow from the batch's unique id, size, length
and format, so they are generated on demand (and cached) and the same batch
always shows the same codes, across restarts too.
"""

from __future__ import annotations

import functools
import random
import string
from typing import Any

WORDS = (
    "apple", "amber", "birch", "brook", "cedar", "cloud", "coral", "delta", "ember", "fern", "frost", "grove",
    "harbor", "hazel", "iris", "ivory", "jade", "juniper", "kite", "lake", "lemon", "maple", "meadow", "moss",
    "north", "oak", "ocean", "olive", "pearl", "pine", "quartz", "quill", "raven", "river", "sage", "shore",
    "slate", "stone", "tide", "tulip", "umber", "valley", "violet", "willow", "wren", "yarrow", "zephyr", "zinc",
)
ALPHABETS = {
    "alphanumeric": string.ascii_lowercase + string.digits,
    "numeric": string.digits,
    "alpha": string.ascii_lowercase,
}
ACTIVATION_SPACING_SECONDS = 3_600
MAX_DRAWS_PER_CODE = 20


def _make_code(rng: random.Random, length: int, voucher_format: str) -> str:
    if voucher_format == "words":
        # Whole words until the length is reached, cut to exactly `length` characters.
        text = ""
        while len(text) < length:
            text += rng.choice(WORDS)
        return text[:length]
    alphabet = ALPHABETS[voucher_format]
    return "".join(rng.choice(alphabet) for _repeat in range(length))


@functools.lru_cache(maxsize=256)
def voucher_codes(code_seed: str, quantity: int, length: int, voucher_format: str, activated: int, created_at: int) -> tuple[dict[str, Any], ...]:
    """The batch's codes; the first `activated` are in use, one activation an hour after creation.

    The tuple is shared through the cache: callers must not mutate the dicts.
    """
    rng = random.Random(code_seed)
    seen: set[str] = set()
    codes = []
    for serial in range(1, quantity + 1):
        code = _make_code(rng, length, voucher_format)
        attempts = 1
        while code in seen:
            code = _make_code(rng, length, voucher_format)
            attempts += 1
            if attempts > MAX_DRAWS_PER_CODE:
                # Six-letter word codes run out near a thousand per batch: the serial makes one unique.
                code = code[: length - len(str(serial))] + str(serial)
        seen.add(code)
        active = serial <= activated
        codes.append({
            "username": code,
            "password": code,
            "serial": serial,
            "active": active,
            "date_activated": created_at + serial * ACTIVATION_SPACING_SECONDS if active else None,
        })
    return tuple(codes)
