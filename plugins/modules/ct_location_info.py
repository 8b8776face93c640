#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_location_info
short_description: List CT locations
version_added: 0.1.0
description:
  - Returns CT locations, every page of them, optionally filtered.
  - Each location is evened out as M(ctcloud.cloud.ct_location) describes (C(state) present, booleans V(true)/V(false)).
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct_action_group
  - ctcloud.cloud.attributes.info_module
options:
  id:
    description: Numeric id or slug of one location. The result is a list of that one location, or empty.
    type: str
  name:
    description:
      - Only locations with exactly this name (compared without surrounding spaces and in Unicode NFC), read with CT's
        exact C(location_name) filter. When that filter finds none (it compares spaces and normalisation exactly), the
        whole list is read and compared the same way.
    type: str
  q:
    description:
      - CT's search over the name, address and town. It is a search engine, not a filter - it may match words separately
        and rank them, and it may not yet know about a change made moments ago. Use O(name) to find one location.
    type: str
  archived:
    description: Only archived (V(true)) or only active (V(false)) locations. Default is both.
    type: bool
"""

EXAMPLES = r"""
- name: All locations
  ctcloud.cloud.ct_location_info:
  register: all_locations

- name: Active locations in Brighton
  ctcloud.cloud.ct_location_info:
    q: Brighton
    archived: false
  register: brighton

- name: Print their names
  ansible.builtin.debug:
    msg: "{{ brighton.locations | map(attribute='location_name') }}"
"""

RETURN = r"""
locations:
  description: The locations, as the API returns them, in the API's order (by id).
  returned: always
  type: list
  elements: dict
  sample:
    - id: "1813"
      location_name: Brighton Seafront Cafe
      slug: brighton-seafront-cafe-iajpng9akeztfqknmlfusw
      state: active
      archived: false
      town: Brighton
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import LocationResource
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def run(module):
    p = module.params
    location_id = validation.id_or_slug(p["id"], "id") if p["id"] is not None else None
    name = validation.text(p["name"], "name", 1) if p["name"] is not None else None
    locations = LocationResource(module.client).query(location_id, name, p["q"])
    if p["archived"] is not None:
        locations = [loc for loc in locations if bool(loc.get("archived")) == p["archived"]]
    return {"changed": False, "locations": locations}


def main():
    module = CtCloudModule(
        {
            "id": {"type": "str"},
            "name": {"type": "str"},
            "q": {"type": "str"},
            "archived": {"type": "bool"},
        },
        cloud="ct",
        supports_check_mode=True,
        mutually_exclusive=[("id", "q")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
