#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_voucher
short_description: Manage one CT voucher batch (a batch of guest login codes)
version_added: 0.1.0
description:
  - Create, update or delete one voucher batch of a CT location. A CT voucher is a I(batch) of login codes that
    share their settings; the API generates the codes asynchronously after the batch is created.
  - A batch is found by O(batch_name) within O(location), or by O(id). The name is looked up with CT's exact
    C(batch_name) filter, never with its search (which may lag behind a batch created a moment ago). A name that matches
    several batches is an error listing them; the module never picks one, and it never creates a second batch with a
    name that exists.
  - Names are compared without surrounding spaces and in Unicode NFC, so C(Café) typed as one character or as C(e) plus
    a combining accent is one name. The name is sent as you wrote it. CT's exact filter compares spaces and
    normalisation too, so before creating a batch the module also reads the location's whole batch list (no search)
    to be sure no batch of that name exists.
  - Runs on one controller that create the same batch at the same moment (C(forks), playbooks side by side) take
    turns, through a lock file in a private directory (C(locks/) beside the token store, or under
    C($XDG_CACHE_HOME/ctcloud/)), so the second finds the batch the first created. After a create the name is read again;
    if another controller created a batch of that name at the same moment, every run keeps the oldest (by
    C(created_at), then C(unique_id)) and deletes the newer one it created itself, before its codes are handed out,
    and says so in RV(deleted_twins) and a warning.
  - Only the options you set are compared and sent. O(quantity), O(access_type), O(code_length), O(voucher_format),
    O(restrict_period) and O(splash_page_id) are fixed when the batch is created; asking for a different value fails
    and changes nothing. Delete the batch (O(state=absent)) and create it again to change them.
  - All ranges and combinations below are checked before any request is sent.
  - A create whose outcome is unknown (a 5xx or a lost connection) is not sent again blindly; the module re-reads
    the location's batches by name and creates the batch only if it is still missing.
  - With O(return_codes=true) the result holds the login codes. Codes are credentials; see RV(codes). To keep
    them out of the output without hiding this task's errors, create the batch here without O(return_codes) and
    read the codes in a task of their own, M(ctcloud.cloud.ct_voucher_info) with C(no_log) (see EXAMPLES).
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
      - In check mode a batch that would be created is returned as it would be (with the API's defaults, without
        its server-assigned C(unique_id)), with the full diff. Nothing is written and nothing is waited for.
      - With O(return_codes=true), the codes of an existing completed batch are read (a read changes nothing);
        a batch that would be created has none yet.
  diff_mode:
    support: full
    details: The diff shows the batch's settings in the module's option names. Codes are never part of it.
options:
  location:
    description:
      - The batch's location, by numeric id, slug or name (API C(location_name)). A value that looks like an id or
        slug is tried as one first, then as a name. A name shared by several locations is an error.
      - With O(state=present) a location that does not exist is an error, in check mode too.
    type: str
    required: true
  id:
    description:
      - The C(unique_id) of an existing batch, as the API returns it (CT's are 32 hexadecimal characters; any letters,
        digits, V(-), V(_), V(.) and V(~) are accepted; an id of CT's shape is compared in lower case, any other as
        written). With O(batch_name) as well, the batch is renamed. Use it when
        several batches share a name.
      - A batch cannot be created with a chosen id.
    type: str
  batch_name:
    description:
      - The batch's name (API C(batch_name)), 1 to 100 characters; its natural key within O(location).
      - Required unless O(id) is given.
    type: str
  description:
    description:
      - Description (API C(batch_description)), 1 to 255 characters. Required to create a batch.
      - CT requires one, so an empty or blank description is refused before any request, also when updating.
    type: str
  quantity:
    description:
      - Number of codes in the batch, 10 to 1000. Required to create a batch; fixed afterwards.
    type: int
  access_type:
    description:
      - V(time) codes are valid for O(validity_minutes); V(data) codes for O(data_limit_mb) (API C(access_type) 1 and 2).
      - Required to create a batch; fixed afterwards.
    type: str
    choices: [data, time]
  validity_minutes:
    description:
      - How long a V(time) code is valid, in minutes, 5 to 518412. Required to create a V(time) batch; not allowed
        for a V(data) batch.
    type: int
  data_limit_mb:
    description:
      - Data allowance of a V(data) code in MB, 50 to 1000000 (API C(access_restrict_data)). Required to create a
        V(data) batch; not allowed for a V(time) batch.
    type: int
  session_timeout:
    description:
      - Session length in minutes, at least 1; for a V(time) batch at most O(validity_minutes). Required to create a
        batch.
    type: int
  idle_timeout:
    description: Minutes of inactivity after which a session ends, 10 to 43200.
    type: int
  simultaneous_use:
    description: How many devices may use one code at once, 1 to 100. The API's default is 1.
    type: int
  code_length:
    description: Length of each code, 6 to 50 (API C(length)). Required to create a batch; fixed afterwards.
    type: int
  voucher_format:
    description: Characters of the codes. The API's default is V(alphanumeric). Fixed after creation.
    type: str
    choices: [alphanumeric, numeric, alpha, words]
  restrict_period:
    description:
      - How often a code may be used (API C(access_restrict_period)), as CT's dashboard labels the values.
      - V(none) (the API's empty value, its default) - all time, multi-use.
      - V(daily), V(weekly), V(monthly) - multi-use, within each day, week or month.
      - V(all) - single-use. It needs O(access_period).
      - Fixed after creation.
    type: str
    choices: [none, daily, weekly, monthly, all]
  access_period:
    description:
      - The single-use limit in minutes (API C(access_period), the dashboard's "Single-Use Limit (mins)"), at most 43201.
      - Only with O(restrict_period=all), and then required to create the batch. For a V(time) batch it must be at least
        O(validity_minutes).
    type: int
  download_speed:
    description: Download limit in kbit/s, 56 to 102400. The API's default is 2048.
    type: int
  upload_speed:
    description: Upload limit in kbit/s, 56 to 102400. The API's default is 1024.
    type: int
  splash_page_id:
    description:
      - The splash page guests see, a numeric page id or V(external). Required to create a batch; fixed afterwards.
    type: str
  active:
    description: Whether the batch's codes can be used (API C(is_active)). A new batch is active.
    type: bool
  state:
    description:
      - V(present) creates the batch if no batch of that name exists in O(location), and otherwise updates the
        fields that differ.
      - V(absent) deletes it. A location that does not exist has no batches, so that is not an error.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the API has generated the batch's codes (C(completed)), also for an existing incomplete batch.
      - Not in check mode.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true). The batch is read with growing pauses (0.2 to 5 seconds). When the time
        is up the task fails; the batch exists, and running the task again waits again.
    type: int
    default: 300
  return_codes:
    description:
      - Return the batch's login codes in RV(codes), read from every page of the API's codes list.
      - Codes exist once the batch is completed; with O(wait=false) an incomplete batch returns none.
      - Codes are credentials, and C(no_log) on this task would also hide every error it reports (a rejected
        setting, an unknown location). Prefer creating the batch without this option and reading the codes with
        M(ctcloud.cloud.ct_voucher_info) in a separate C(no_log) task; if you use it, set C(no_log) on the task.
    type: bool
    default: false
notes:
  - Deleting a location deletes its voucher batches.
seealso:
  - module: ctcloud.cloud.ct_voucher_info
  - module: ctcloud.cloud.ct_location
"""

EXAMPLES = r"""
- name: One day of WiFi for 50 conference guests
  ctcloud.cloud.ct_voucher:
    location: Brighton Seafront Cafe
    batch_name: Conference 2024-06-12
    description: Day passes for delegates
    quantity: 50
    access_type: time
    validity_minutes: 1440
    session_timeout: 480
    code_length: 8
    splash_page_id: external

# Create, then read the codes: the create shows its errors; only the read of the codes (credentials) is no_log.
- name: Create a data batch for temporary staff and wait for its codes
  ctcloud.cloud.ct_voucher:
    location: "1813"
    batch_name: Staff data bundle
    description: 1 GB for temporary staff
    quantity: 20
    access_type: data
    data_limit_mb: 1000
    session_timeout: 1440
    code_length: 10
    voucher_format: numeric
    splash_page_id: "42"
  register: staff_batch

- name: Read its codes (credentials, so not shown)
  ctcloud.cloud.ct_voucher_info:
    location: "1813"
    id: "{{ staff_batch.voucher.unique_id }}"
    return_codes: true
  no_log: true
  register: staff_codes

- name: Write the codes to a private file for printing
  ansible.builtin.copy:
    dest: /secure/staff-codes.csv
    mode: "0600"
    content: |
      username,password,serial
      {% for code in (staff_codes.vouchers | first).codes %}
      {{ code.username }},{{ code.password }},{{ code.serial }}
      {% endfor %}
  no_log: true

- name: Single-use codes, each good for one session of up to a day
  ctcloud.cloud.ct_voucher:
    location: Brighton Seafront Cafe
    batch_name: Walk-in guests
    description: One code, one visit
    quantity: 100
    access_type: time
    validity_minutes: 1440
    session_timeout: 240
    code_length: 8
    restrict_period: all
    access_period: 1440
    splash_page_id: external

- name: Stop the conference codes working (reversible)
  ctcloud.cloud.ct_voucher:
    location: Brighton Seafront Cafe
    batch_name: Conference 2024-06-12
    active: false

- name: Delete the batch
  ctcloud.cloud.ct_voucher:
    location: Brighton Seafront Cafe
    batch_name: Conference 2024-06-12
    state: absent
"""

RETURN = r"""
voucher:
  description:
    - The batch as the API returns it after the change (bare, not wrapped); after O(wait=true), as completed.
      C(is_active) and C(completed) are V(true)/V(false) even where CT sends V(1)/V(0).
    - In check mode, the batch as it would be; a batch that would be created has no C(unique_id) yet and
      C(completed) false.
    - V(null) after O(state=absent).
  returned: always
  type: dict
  sample:
    unique_id: 6f1e2d3c4b5a69788796a5b4c3d2e1f0
    location_id: "1813"
    batch_name: Conference 2024-06-12
    batch_description: Day passes for delegates
    quantity: 50
    access_type: 1
    validity_minutes: 1440
    access_restrict_data: null
    session_timeout: 480
    idle_timeout: null
    simultaneous_use: 1
    length: 8
    voucher_format: alphanumeric
    access_restrict_period: ""
    access_period: null
    download_speed: 2048
    upload_speed: 1024
    splash_page_id: external
    is_active: true
    completed: true
    created_at: 1718179200
    csv_link: https://example.invalid/vouchers/6f1e2d3c4b5a69788796a5b4c3d2e1f0.csv
    pdf_link: https://example.invalid/vouchers/6f1e2d3c4b5a69788796a5b4c3d2e1f0.pdf
deleted_twins:
  description:
    - The C(unique_id) of the batch this run created and then deleted, because another run (on another controller)
      created a batch of the same name at the same moment and that one is older. RV(voucher) is then the older batch.
    - Empty otherwise.
  returned: always
  type: list
  elements: str
  sample: []
changes:
  description: Every option the module set, with its value before and after. Empty when nothing changed. Never
    holds codes.
  returned: always
  type: dict
  sample:
    session_timeout:
      before: 240
      after: 480
codes:
  description:
    - The batch's login codes. B(Sensitive) - these are credentials. Run the task with C(no_log) and store them
      only where guests' passwords may be; or read them with M(ctcloud.cloud.ct_voucher_info) in a task of their
      own, so that this one's errors stay visible.
    - Empty while the batch is not completed, and for a batch that would be created in check mode.
  returned: when O(return_codes=true) and O(state=present)
  type: list
  elements: dict
  contains:
    username:
      description: The code's user name.
      type: str
    password:
      description: The code's password.
      type: str
    serial:
      description: The code's serial number, as printed on the voucher (as the API gives it, a number or a string).
      type: raw
    active:
      description: Whether the code has been activated by a guest.
      type: bool
  sample:
    - username: k7mq2xpa
      password: r4td9wbe
      serial: 1
      active: false
"""

import contextlib

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import CtCloudError
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.validation import integer
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import find_location, missing_location
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.voucher import (
    ENTRY_OPTIONS,
    VoucherResource,
    check_combination,
    creation_turn,
    settle_twins,
    validate,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import CREATE
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Runner, WaitTimeoutError, wait_until
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def wait_for_codes(resource, voucher, timeout):
    def read():
        batch = resource.get(voucher["unique_id"])
        if batch is None:
            raise CtCloudError(f"voucher batch {voucher['batch_name']!r} ({voucher['unique_id']}) was deleted while waiting for its codes")
        return batch

    what = f"generating the codes of voucher batch {voucher['batch_name']!r} ({voucher['unique_id']})"
    return wait_until(read, lambda batch: bool(batch.get("completed")), timeout, what)


def run(module):
    options = validate(module.params)
    wait_timeout = integer(module.params["wait_timeout"], "wait_timeout", 0, 86400)
    absent = options["state"] == "absent"
    location = find_location(module.client, options["location"])
    if location is None:
        if absent:
            return {"changed": False, "voucher": None, "changes": {}, "deleted_twins": []}
        raise missing_location(options["location"])
    resource = VoucherResource(module.client, location["id"], options["access_type"])
    runner = Runner(resource, module.check_mode)
    deleted_twins = []
    # Processes of this controller take turns at finding-or-creating one name; a check run writes nothing to race with.
    writing = not module.check_mode and not absent and options["batch_name"] is not None
    with creation_turn(module.client, module.params["token_store"], location["id"], options["batch_name"]) if writing else contextlib.nullcontext():
        item = runner.plan_one(options, absent=absent)
        check_combination(options, item.current)
        voucher = runner.apply(item, options)
        if item.action == CREATE and not module.check_mode:
            voucher, deleted_twins = settle_twins(resource, voucher, options)
    if deleted_twins:
        module.module.warn(
            f"another run created voucher batch {voucher['batch_name']!r} at the same moment; kept the older batch "
            f"({voucher['unique_id']}) and deleted the one this run created ({', '.join(deleted_twins)})"
        )
    result = {"changed": item.changed, "voucher": voucher, "changes": item.changes, "deleted_twins": deleted_twins}
    if voucher and module.params["wait"] and not module.check_mode and not voucher.get("completed"):
        try:
            voucher = wait_for_codes(resource, voucher, wait_timeout)
        except WaitTimeoutError as exc:
            result["voucher"] = exc.details["last"]
            module.fail(exc, **result)
        result["voucher"] = voucher
    if module.params["return_codes"] and not absent:
        ready = voucher is not None and voucher.get("unique_id") and voucher.get("completed")
        result["codes"] = resource.codes(voucher) if ready else []
    if module.diff_mode:
        result["diff"] = item.diff() if module.check_mode else item.diff(voucher)
    return result


def main():
    spec = dict(ENTRY_OPTIONS)
    spec.update(
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": 300},
        return_codes={"type": "bool", "default": False},
    )
    module = CtCloudModule(spec, cloud="ct", supports_check_mode=True, required_one_of=[("id", "batch_name")])
    module.run(run)


if __name__ == "__main__":
    main()
