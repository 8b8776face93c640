"""The dashboard dialect's `q`: a search engine beside the database, not a filter on it.

The dashboard's search box gets `_index`/`_key` aggregations back: CT searches an
index (Elasticsearch-like). Two things follow that a client must not trip over,
and that this module makes real:

- words, not substrings: the query and the fields are split into words, a record
  matches when it shares any word with the query, and records sharing more of the
  query's words rank first;
- the index is refreshed behind the database: a write becomes findable
  `search_lag` seconds after it happened (until then the record is found as it
  was, or not at all).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Record = dict[str, Any]
_WORD = re.compile(r"\w+")


def words(*texts: Any) -> set[str]:
    return {word.casefold() for text in texts if isinstance(text, str) for word in _WORD.findall(text)}


class SearchIndex:
    """Versions of each record, by the time they were written; the caller holds the state lock."""

    def __init__(self) -> None:
        self._versions: dict[str, list[tuple[float, Record | None]]] = {}

    def load(self, records: Mapping[str, Record]) -> None:
        """Records that are indexed already (seed data, a loaded state file)."""
        self._versions = {key: [(-math.inf, record)] for key, record in records.items()}

    def write(self, key: str, record: Record | None, now: float, lag: float) -> None:
        """A record as written at ``now`` (None: deleted)."""
        versions = self._versions.setdefault(key, [])
        versions.append((now, record))
        # Versions hidden behind a newer one that is already visible can never be found again.
        cutoff = now - lag
        while len(versions) > 1 and versions[1][0] <= cutoff:
            versions.pop(0)

    def visible(self, now: float, lag: float) -> list[tuple[str, Record]]:
        """(key, record as the index shows it) for every record the index holds at ``now``."""
        cutoff = now - lag
        shown = []
        for key, versions in self._versions.items():
            record = None
            for written_at, version in versions:
                if written_at > cutoff:
                    break
                record = version
            if record is not None:
                shown.append((key, record))
        return shown


def ranked_matches(query: str, indexed: Iterable[tuple[str, Record]], fields: Sequence[str]) -> list[str]:
    """Keys of the records sharing a word with ``query``, most shared words first, ties in the given order."""
    wanted = words(query)
    scored = []
    for position, (key, record) in enumerate(indexed):
        score = len(wanted & words(*(record.get(field) for field in fields)))
        if score:
            scored.append((-score, position, key))
    return [key for _score, _position, key in sorted(scored)]
