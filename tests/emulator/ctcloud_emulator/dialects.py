"""The two ways the emulator can answer: as CT and cThings really seem to (`dashboard`), or as first read (`legacy`).

`dashboard` follows docs/api-contract.md including its section "Corrections from a
closer read of the dashboard source": what the vendor's own dashboard shows the
real API does. `legacy` is the emulator of 0.1.0, kept so that the collection is
proved against both readings of the same contract. A dialect is chosen on the
command line (`--dialect`) and fixed for the life of the process; each flag below
is one behaviour, named for what it changes.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Dialect:
    name: str
    # Location replies carry `state` (active/archived) next to `archived`.
    location_state_in_replies: bool
    # Single-location replies (GET one, POST, PATCH) spell `archived` as 0/1, as the dashboard tests for.
    archived_as_integer: bool
    # `q` is a search index: words matched separately, ranked, and `search_lag` seconds behind writes.
    search_index: bool
    # A rename gives the location a new slug; the old one finds nothing.
    slug_follows_name: bool
    # "You cannot delete a location with session data": a location with clients_total > 0 is not deleted.
    delete_refused_with_sessions: bool
    # Box ids are integers and boxes carry `allowed_job`; actions on an offline box are accepted (done at its next start).
    dashboard_boxes: bool
    # Every token endpoint error answers 401 (Doorkeeper before 5.x), not 400.
    token_errors_401: bool
    # cThings refuses query parameters the contract does not name for the endpoint (readings: from and to only).
    cthings_strict_parameters: bool


DASHBOARD = Dialect(
    name="dashboard",
    location_state_in_replies=False,
    archived_as_integer=True,
    search_index=True,
    slug_follows_name=True,
    delete_refused_with_sessions=True,
    dashboard_boxes=True,
    token_errors_401=True,
    cthings_strict_parameters=True,
)

LEGACY = Dialect(
    name="legacy",
    location_state_in_replies=True,
    archived_as_integer=False,
    search_index=False,
    slug_follows_name=False,
    delete_refused_with_sessions=False,
    dashboard_boxes=False,
    token_errors_401=False,
    cthings_strict_parameters=False,
)

DIALECTS = {dialect.name: dialect for dialect in (DASHBOARD, LEGACY)}
DEFAULT = DASHBOARD
