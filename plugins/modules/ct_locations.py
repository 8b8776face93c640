#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_locations
short_description: Manage the whole set of CT locations declaratively
version_added: 0.1.0
description:
  - Makes CT hold exactly the locations you declare, the way a team keeps its sites in git.
  - Reads every location once (all pages), then creates, updates, archives or deletes only what differs.
    1,000 declared locations with no drift cost about ten requests.
  - Each entry of O(locations) takes the same options as M(ctcloud.cloud.ct_location). Entries are matched to
    existing locations by O(locations[].id) when given (so an entry can rename a location), otherwise by
    O(locations[].name). Names are compared without surrounding spaces and in Unicode NFC (C(Café) typed as one
    character or as C(e) plus a combining accent is one name); they are sent as you wrote them.
  - An entry that renames a location onto a name another location holds (archived or not) is refused before anything
    is written, with that location's id, since the name would otherwise match two locations.
  - A create that CT refuses because the name "has already been taken" (an identical run created it meanwhile) is
    not an error; the location is read by name and updated where it differs, and reported as updated or unchanged.
  - The whole list is checked before anything is sent (lengths, coordinates, duplicate names), and the plan before
    anything is written (fields and lengths needed to create). If any entry is invalid, nothing is written and every
    problem is reported at once.
  - Locations you do not declare are left alone, archived or deleted, as O(purge) says. A purge that would take
    out more than O(purge_max_share) of the account's locations is refused before anything is written, and so is a
    purge with an empty O(locations); the message says how many locations and which.
  - Entries that cannot be planned (an unknown id, a name several locations share, a new location without the
    fields a create needs) are reported together, after the one read of the list; nothing is written.
  - CT refuses to delete a location with session data. Each refusal is reported with CT's reason, the rest of the plan
    is still carried out, and the task then fails listing every refused location in RV(refused); archiving
    (O(purge=archive), or O(locations[].state=archived)) retires such locations.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct_action_group
attributes:
  check_mode:
    support: full
    details: Check mode plans every change and reports it (result lists and diff) without writing.
  diff_mode:
    support: full
    details: The diff shows the whole set, keyed by location name, before and after.
options:
  locations:
    description:
      - The locations that should exist (or, with O(locations[].state=absent), not exist).
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: Numeric id or slug of an existing location; with a different O(locations[].name) it renames it.
        type: str
      name:
        description:
          - The location's name (API C(location_name)); unique within the list.
          - 5 to 100 characters to create a location, 5 to 255 for one that exists.
        type: str
      address:
        description: The address (API C(location_address)). Required to create; 5 to 200 characters then, up to 255 later.
        type: str
      street:
        description: Street (API C(street)).
        type: str
      town:
        description: Town (API C(town)). Required to create; 3 to 200 characters then, up to 255 later.
        type: str
      postcode:
        description:
          - Postcode (API C(postcode)). Required to create; 3 to 8 characters then, up to 255 later (a US ZIP+4 code
            fits a location that exists).
        type: str
      country:
        description: Two-letter ISO 3166-1 country code such as V(gb) (API C(country), lower case). Required to create.
        type: str
      phone:
        description: Phone number (API C(phone1)).
        type: str
      website:
        description: Website (API C(location_website)).
        type: str
      location_type:
        description: Kind of venue (API C(location_type)).
        type: str
      timezone:
        description: Time zone name (API C(timezone)).
        type: str
      development_mode:
        description: Development mode (API C(development_mode)).
        type: str
      daily_limit:
        description: Whether the daily limit applies (API C(daily_limit)).
        type: bool
      latitude:
        description: Latitude in degrees, -90 to 90 (API C(lat)).
        type: float
      longitude:
        description: Longitude in degrees, -180 to 180 (API C(lng)).
        type: float
      state:
        description: V(present) (active), V(archived) or V(absent) (deleted).
        type: str
        choices: [present, archived, absent]
        default: present
  purge:
    description:
      - What to do with existing locations that no entry names.
      - V(false) leaves them alone; V(archive) archives them (reversible); V(delete) deletes them with their vouchers.
    type: str
    choices: ["false", archive, delete]
    default: "false"
  purge_max_share:
    description:
      - The largest share of the account's locations that O(purge) may take out in one run, from V(0.0) to V(1.0).
        It counts the locations the purge would change against those it could change, which are the active ones
        for V(archive) and all of them for V(delete).
      - A purge over this share fails before anything is written (in check mode too), naming how many locations
        and which. A declared list that is accidentally short (an undefined variable, the wrong vars file) looks
        exactly like a purge of most of the account.
      - An empty O(locations) with O(purge) is refused unless this is V(1.0).
      - V(1.0) allows any purge.
    type: float
    default: 0.5
seealso:
  - module: ctcloud.cloud.ct_location
  - module: ctcloud.cloud.ct_location_info
"""

EXAMPLES = r"""
- name: Keep CT's locations exactly as declared in git, archiving the rest
  ctcloud.cloud.ct_locations:
    locations: "{{ ct_sites }}"
    purge: archive

- name: Show in a pull request what the merge would change
  ctcloud.cloud.ct_locations:
    locations: "{{ ct_sites }}"
    purge: archive
  check_mode: true
  diff: true
  register: plan

- name: First adoption of an old account, where most locations are stale and may all be archived
  ctcloud.cloud.ct_locations:
    locations: "{{ ct_sites }}"
    purge: archive
    purge_max_share: 1.0

- name: Rename one site by id while declaring the rest by name
  ctcloud.cloud.ct_locations:
    locations:
      - id: "1813"
        name: Brighton Seafront Cafe & Bar
      - name: Head Office
        address: 10 High Street
        town: London
        postcode: EC1A 1BB
        country: gb
"""

RETURN = r"""
created:
  description: Names of the locations created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [Head Office]
updated:
  description: Names of the locations whose fields were changed (restoring an archived location counts here).
  returned: always
  type: list
  elements: str
archived:
  description: Names of the locations archived, by their entry or by O(purge=archive).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the locations deleted, by their entry or by O(purge=delete).
  returned: always
  type: list
  elements: str
unchanged:
  description: Names of the locations that already were as declared (and, with O(purge=archive), already archived
    undeclared ones).
  returned: always
  type: list
  elements: str
locations:
  description: The declared locations as the API returns them after the run (evened out as M(ctcloud.cloud.ct_location)
    describes), in the order of O(locations); V(null) for entries that are absent. In check mode, as they would be.
  returned: always
  type: list
  elements: dict
refused:
  description:
    - Names of the locations CT refused to delete (session data). The task fails when there are any; the other lists
      then say what was done.
  returned: when CT refused to delete a location
  type: list
  elements: str
  sample: [Old Depot]
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import (
    DEFAULT_PURGE_MAX_SHARE,
    ENTRY_OPTIONS,
    SHAPE,
    LocationResource,
    check_purge,
    validate,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Runner, SetApplyError
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule

OUTCOMES = ("created", "updated", "archived", "deleted", "unchanged")
PURGES = {
    "false": None,
    "archive": lambda location: {"state": "archived"},
    "delete": lambda location: None,
}


def validated_entries(raw_entries):
    """Every entry checked before any request; all problems reported together."""
    entries, problems = [], []
    names, ids = {}, {}
    compare = SHAPE.by_option["name"].compare
    for index, raw in enumerate(raw_entries):
        where = f"locations[{index}]"
        try:
            entry = validate(raw, where)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if entry["name"] is not None:
            key = compare(entry["name"])
            if key in names:
                problems.append(f"{where}.name {entry['name']!r} is also the name of locations[{names[key]}]")
            names.setdefault(key, index)
        if entry["id"] is not None:
            if entry["id"] in ids:
                problems.append(f"{where}.id {entry['id']!r} is also the id of locations[{ids[entry['id']]}]")
            ids.setdefault(entry["id"], index)
        entry["_absent"] = entry["state"] == "absent"
        entries.append(entry)
    if problems:
        count = f"{len(problems)} invalid location entr{'y' if len(problems) == 1 else 'ies'}"
        raise InputError(f"{count}, nothing was changed: {'; '.join(problems)}", "locations")
    return entries


def validated_share(value):
    if not 0.0 <= value <= 1.0:
        raise InputError(f"purge_max_share must be between 0.0 and 1.0 (a share of the account's locations), got {value!r}", "purge_max_share")
    return value


def run(module):
    entries = validated_entries(module.params["locations"])
    max_share = validated_share(module.params["purge_max_share"])
    purge = module.params["purge"]
    runner = Runner(LocationResource(module.client), module.check_mode)
    set_plan = runner.plan_set(entries, PURGES[purge])
    if PURGES[purge] is not None:
        check_purge(set_plan, len(entries), purge, max_share)
    try:
        results = runner.apply_set(set_plan, entries)
    except SetApplyError as exc:
        # What was done, not what was planned: a refused delete is not among the deleted.
        done = {outcome: exc.done.get(outcome, []) for outcome in OUTCOMES}
        changed = any(names for outcome, names in done.items() if outcome != "unchanged")
        module.fail(exc, changed=changed, refused=exc.details.get("refused", []), locations=exc.results[: len(entries)], **done)
    outcomes = set_plan.by_outcome(runner.resource.outcome)
    result = {"changed": set_plan.changed, "locations": results[: len(entries)]}
    for outcome in OUTCOMES:
        result[outcome] = outcomes.get(outcome, [])
    if module.diff_mode:
        result["diff"] = set_plan.diff(None if module.check_mode else results)
    return result


def main():
    module = CtCloudModule(
        {
            "locations": {"type": "list", "elements": "dict", "required": True, "options": ENTRY_OPTIONS},
            "purge": {"type": "str", "choices": ["false", "archive", "delete"], "default": "false"},
            "purge_max_share": {"type": "float", "default": DEFAULT_PURGE_MAX_SHARE},
        },
        cloud="ct",
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
