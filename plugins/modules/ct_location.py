#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_location
short_description: Manage one CT location
version_added: 0.1.0
description:
  - Create, update, archive, restore or delete one location of the CT WiFi platform.
  - A location is found by O(id) (numeric id or slug) or by O(name). A name is looked up with CT's exact name filter,
    never with its search (which matches words and may lag behind recent changes), so a location created a moment ago
    is found and never created twice. A name that matches several locations is an error listing them; the module
    never picks one.
  - Names are compared without surrounding spaces and in Unicode NFC, so C(Café) typed as one character or as C(e) plus
    a combining accent is one name; the name is sent as you wrote it. CT's exact name filter compares spaces and
    normalisation too, so before creating a location the module also reads the whole location list (no search) to be
    sure no location of that name exists.
  - A create that CT refuses because the name "has already been taken" (another run created it between this run's read
    and its create) is not an error; the module reads the location by name and updates what differs, like after a
    create whose outcome was lost.
  - Renaming a location gives it a new slug. Refer to a location by its numeric O(id) where a rename may happen; a slug
    read before a rename finds nothing afterwards.
  - A rename onto a name that another location holds, archived or not, is refused before anything is written, naming
    that location's id. The name would otherwise match two locations, and every later task declaring it would fail.
  - Only the options you set are compared and sent. An option you leave out is left as it is; it does not mean
    "clear this field". To clear an optional text field, set it to an empty string.
  - To manage many locations at once, use M(ctcloud.cloud.ct_locations), which reads the list once.
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
    details:
      - In check mode a location that would be created is returned as it would be (without its server-assigned
        O(id)), with the full diff.
      - CT decides a renamed location's new slug, so check mode shows it as C((known after update)) in the diff, and null
        in RV(location).
  diff_mode:
    support: full
options:
  id:
    description:
      - Numeric id or slug of an existing location. With O(name) as well, the location is renamed.
      - A location cannot be created with a chosen id.
    type: str
  name:
    description:
      - The location's name (API field C(location_name)). Its natural key.
      - 5 to 100 characters to create a location, 5 to 255 to rename one (CT's create and settings forms).
      - Required unless O(id) is given.
    type: str
  address:
    description:
      - The address (API C(location_address)). Required to create a location.
      - 5 to 200 characters to create a location; up to 255 for a location that exists.
    type: str
  street:
    description: Street (API C(street)).
    type: str
  town:
    description:
      - Town (API C(town)). Required to create a location.
      - 3 to 200 characters to create a location; up to 255 for a location that exists.
    type: str
  postcode:
    description:
      - Postcode (API C(postcode)). Required to create a location.
      - 3 to 8 characters to create a location; up to 255 for a location that exists, so a US ZIP+4 code such as
        V(94103-1234) can be set on an existing location (CT's create form does not take it).
      - The limits that apply are checked before anything is written.
    type: str
  country:
    description:
      - The country the location operates in, a two-letter ISO 3166-1 code such as V(gb) or V(us) (API C(country),
        lower case; V(GB) is taken as V(gb)). CT asks for it "to stay legally compliant".
      - Required to create a location.
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
    description: Time zone name, for example V(Europe/London) (API C(timezone)).
    type: str
  development_mode:
    description: Development mode (API C(development_mode)), for example V(Beta).
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
    description:
      - V(present) makes the location exist and be active (it restores an archived one).
      - V(archived) makes it exist and be archived, the API's reversible C(state=archived).
      - V(absent) deletes it, with its vouchers. CT refuses to delete a location with session data (guests have used
        it); the task then fails quoting CT's reason, and V(archived) is the way to retire such a location.
    type: str
    choices: [present, archived, absent]
    default: present
seealso:
  - module: ctcloud.cloud.ct_locations
  - module: ctcloud.cloud.ct_location_info
"""

EXAMPLES = r"""
- name: Make sure the Brighton cafe exists with this address
  ctcloud.cloud.ct_location:
    name: Brighton Seafront Cafe
    address: 1 Marine Parade
    town: Brighton
    postcode: BN2 1TL
    country: gb
    timezone: Europe/London
    latitude: 50.8197
    longitude: -0.1367

- name: Archive it for the winter (reversible)
  ctcloud.cloud.ct_location:
    name: Brighton Seafront Cafe
    state: archived

- name: Rename a location by id (its slug changes with the name)
  ctcloud.cloud.ct_location:
    id: "1813"
    name: Brighton Seafront Cafe & Bar
  register: renamed

- name: The new slug
  ansible.builtin.debug:
    msg: "{{ renamed.location.slug }}"

- name: A ZIP+4 postcode for a location that exists
  ctcloud.cloud.ct_location:
    id: "1813"
    postcode: "94103-1234"

- name: Delete it
  ctcloud.cloud.ct_location:
    name: Brighton Seafront Cafe & Bar
    state: absent

- name: Set the connection options once for all CT modules
  module_defaults:
    group/ctcloud.cloud.ct:
      client_id: "{{ vault_ct_client_id }}"
      client_secret: "{{ vault_ct_client_secret }}"
      refresh_token: "{{ vault_ct_refresh_token }}"
  block:
    - name: Ensure the office exists
      ctcloud.cloud.ct_location:
        name: Head Office
        address: 10 High Street
        town: London
        postcode: EC1A 1BB
        country: gb
"""

RETURN = r"""
location:
  description:
    - The location as the API returns it after the change (bare, not wrapped), evened out the same way whatever the API
      sends - C(id) a digit string, C(archived) and C(daily_limit) V(true)/V(false) (CT may send V(1)/V(0)), and
      C(state) (V(active) or V(archived)) derived from C(archived) when CT leaves it out.
    - In check mode, the location as it would be; a location that would be created has no C(id) and C(slug) yet, and a
      renamed one no C(slug).
    - V(null) after O(state=absent).
  returned: always
  type: dict
  sample:
    id: "1813"
    location_name: Brighton Seafront Cafe
    slug: brighton-seafront-cafe-iajpng9akeztfqknmlfusw
    location_address: 1 Marine Parade
    town: Brighton
    postcode: BN2 1TL
    country: gb
    state: active
    archived: false
    lat: 50.8197
    lng: -0.1367
changes:
  description: Every option the module set, with its value before and after. Empty when nothing changed.
  returned: always
  type: dict
  sample:
    postcode:
      before: BN2 1TJ
      after: BN2 1TL
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import ENTRY_OPTIONS, LocationResource, validate
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Runner
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def run(module):
    options = validate(module.params)
    runner = Runner(LocationResource(module.client), module.check_mode)
    item = runner.plan_one(options, absent=options["state"] == "absent")
    location = runner.apply(item, options)
    result = {"changed": item.changed, "location": location, "changes": item.changes}
    if module.diff_mode:
        result["diff"] = item.diff() if module.check_mode else item.diff(location)
    return result


def main():
    module = CtCloudModule(
        dict(ENTRY_OPTIONS),
        cloud="ct",
        supports_check_mode=True,
        required_one_of=[("id", "name")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
