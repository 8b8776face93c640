#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_box_reboot
short_description: Reboot CT boxes (access points), optionally rolling in batches
version_added: 0.1.0
description:
  - Reboots the CT boxes you select by O(slug), O(id), O(mac) or O(location). The selectors combine; a box
    selected twice is rebooted once. Every selected box must exist, or nothing is rebooted.
  - Only boxes that are up (state C(online) or C(splash_only)) and that CT allows a job (C(allowed_job) is not
    V(false)) are rebooted. The others are skipped with a reason in the result, for example C(offline), C(new) (never
    connected), C(rebooting), C(upgrading), C(processing), or a box whose C(allowed_job) is V(false) (CT's dashboard
    disables reboot then). Nothing is sent to a skipped box; in particular no reboot is sent to an offline box, which CT
    would hold until the box next starts.
  - With O(wait=true), each box must come back C(online) (or C(splash_only)) within O(wait_timeout) seconds.
    The boxes of a batch are rebooted together and waited for together, so 100 boxes in batches of 10 take about
    ten reboot times, not a hundred.
  - O(batch_size) reboots that many boxes at once, batch after batch in the order the boxes were selected, and each
    batch comes back before the next one starts, so a site never loses all its access points together.
    The task fails at the first box that does not come back in time, naming it; later batches are not started.
  - A reboot is an action, so it is never resent blindly. When the API's answer is lost (a 5xx, a timeout, a reset
    connection), the module reads the box again. If it is C(rebooting), or its boot time moved, the reboot happened;
    otherwise the reboot is sent again, at most five times.
  - O(skip_if_rebooted_within) compares a box's boot time with the clock of the host the module runs on, so re-running
    a rolling reboot does not reboot the boxes twice. The API does not say whether C(uptime_seconds) counts up to the
    last heartbeat or up to now, and heartbeats lag, so the boot time taken is the later of
    C(last_heartbeat - uptime_seconds) and C(now - uptime_seconds), so that in doubt a box counts as recently rebooted.
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
    details: Check mode reads the boxes and reports which would be rebooted, in which batch, and which skipped and why;
      it sends no reboot.
  diff_mode:
    support: full
    details:
      - The diff is the reboot plan, the same in check mode and in the run. It lists the boxes to reboot batch by
        batch, each with its MAC, location and state, then the skipped boxes with the reason.
options:
  slug:
    description: Slugs of the boxes to reboot, for example V(ap-pzh2ljx7x0).
    type: list
    elements: str
  id:
    description: Numeric ids of the boxes to reboot.
    type: list
    elements: str
  mac:
    description:
      - MAC addresses of the boxes to reboot (API C(calledstationid)).
      - Any common spelling works, V(AA:BB:CC:DD:EE:FF), V(aa-bb-cc-dd-ee-ff), V(aabb.ccdd.eeff) or V(aabbccddeeff);
        the API's own spellings (colons or dashes) are normalised the same way before comparing.
    type: list
    elements: str
    aliases: [calledstationid]
  location:
    description:
      - Locations (numeric id, slug or name) whose boxes are all rebooted.
      - A name that matches several locations is an error that lists them.
    type: list
    elements: str
  wait:
    description:
      - Wait until each rebooted box is back online.
      - Required when O(batch_size) is set, since batches are only meaningful if each one comes back before the next.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds each batch may take to come back online, counted from its reboot.
      - A box that is not back in time fails the task, naming it; the batches after it are not rebooted.
    type: int
    default: 300
  batch_size:
    description:
      - How many boxes reboot at the same time. Batches run in the order the boxes were selected.
      - Default is all selected boxes at once.
    type: int
  fail_on_offline:
    description:
      - Fail, before rebooting anything, when a selected box is C(offline) or C(new) (never connected).
      - By default such boxes are skipped, with the reason in the result.
    type: bool
    default: false
  skip_if_rebooted_within:
    description:
      - Skip boxes that booted less than this many seconds ago. The boot time is the later of
        C(last_heartbeat - uptime_seconds) and C(now - uptime_seconds), from what the API reports (a lagging heartbeat
        must not make a box rebooted a moment ago look older); a box that reports no C(uptime_seconds) is not skipped.
      - Makes a rolling reboot safe to run again after a failure part-way.
    type: int
notes:
  - A selection by O(id) or O(mac), or by more than ten O(slug)s, reads the whole box list once (all pages, 100 boxes a
    page); up to ten O(slug)s alone are read one by one; a O(location) reads that location's boxes.
seealso:
  - module: ctcloud.cloud.ct_box_info
"""

EXAMPLES = r"""
- name: Reboot one access point by MAC and wait until it is back
  ctcloud.cloud.ct_box_reboot:
    mac: 00-18-0a-12-34-56

- name: Rolling reboot of a site, two boxes at a time, never twice within an hour
  ctcloud.cloud.ct_box_reboot:
    location: Brighton Seafront Cafe
    batch_size: 2
    wait_timeout: 600
    skip_if_rebooted_within: 3600
  register: reboot

- name: Show how long each box took
  ansible.builtin.debug:
    msg: "{{ reboot.boxes | selectattr('rebooted') | items2dict(key_name='slug', value_name='seconds_to_online') }}"

- name: Which boxes would reboot (nothing is sent)
  ctcloud.cloud.ct_box_reboot:
    location: [london-office, "1813"]
    batch_size: 5
  check_mode: true
  register: plan

- name: Fail if any box of the site is offline, before rebooting anything
  ctcloud.cloud.ct_box_reboot:
    location: Head Office
    fail_on_offline: true
"""

RETURN = r"""
msg:
  description: One sentence on what was done, or in check mode what would be.
  returned: always
  type: str
  sample: Would reboot 6 boxes in 3 batches; 1 skipped (check mode, nothing was sent)
boxes:
  description:
    - One entry per selected box, in selection order, also when the task fails part-way.
  returned: always
  type: list
  elements: dict
  contains:
    slug:
      description: The box's slug.
      type: str
      sample: ap-pzh2ljx7x0
    id:
      description: The box's numeric id, as a string (CT sends an integer).
      type: str
      sample: "5001"
    mac:
      description: Its MAC (C(calledstationid)) normalised to C(AA:BB:CC:DD:EE:FF); V(null) if the API's value is not a MAC.
      type: str
      sample: F0:9F:C2:E4:E1:EC
    calledstationid:
      description: The MAC as the API spells it.
      type: str
      sample: F0-9F-C2-E4-E1-EC
    location_id:
      description: Numeric id of the box's location; V(null) for an unassigned box.
      type: str
    location_slug:
      description: Slug of the box's location; V(null) for an unassigned box.
      type: str
    description:
      description: The box's description.
      type: str
    action:
      description: V(reboot) (rebooted, or would be in check mode) or V(skip).
      type: str
      sample: reboot
    reason:
      description: Why the box was skipped, or why a planned reboot did not happen; V(null) otherwise.
      type: str
      sample: "offline: a reboot would only happen at its next start, so none was sent"
    batch:
      description: The batch (1, 2, ...) the box was rebooted in; V(null) when skipped.
      type: int
      sample: 1
    rebooted:
      description: Whether the API accepted the reboot. Always V(false) in check mode.
      type: bool
    back_online:
      description: V(true) when the box came back, V(false) when it did not in time, V(null) when not waited for.
      type: bool
    state_before:
      description: The box's state when it was selected.
      type: str
      sample: online
    state_after:
      description: Its state when the module last read it (C(rebooting) right after the reboot, C(online) after
        waiting); predicted in check mode.
      type: str
      sample: online
    seconds_to_online:
      description: Seconds from its batch's reboot until the box was seen back online; V(null) when not waited for.
      type: float
      sample: 41.2
rebooted:
  description: Slugs of the boxes rebooted (in check mode, that would be rebooted).
  returned: always
  type: list
  elements: str
  sample: [ap-pzh2ljx7x0]
skipped_boxes:
  description:
    - Slugs of the boxes skipped; the reasons are in RV(boxes).
    - Not named C(skipped), which Ansible reads as "the task was skipped".
  returned: always
  type: list
  elements: str
  sample: [ap-0k2j3h4g5f]
batches:
  description: How many batches the reboots took (or would take).
  returned: always
  type: int
  sample: 1
"""

import time

from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.box import BoxReboots, BoxResource, RebootFailure, reboot_summary, validate_reboot
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import ActionRunner, PlanRefusedError
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def run(module):
    p = module.params
    selection = validate_reboot(p)
    boxes = BoxResource(module.client)
    selected = boxes.select(selection)
    # The clock skip_if_rebooted_within reads, taken once the boxes are read.
    reboots = BoxReboots(boxes, time.time(), p["wait"], p["wait_timeout"], p["fail_on_offline"], p["skip_if_rebooted_within"])
    runner = ActionRunner(reboots, module.check_mode)
    plan = runner.plan(selected, p["batch_size"])
    try:
        runner.apply(plan)
    except PlanRefusedError as exc:
        module.fail(exc, **reboot_summary(plan))
    except RebootFailure as exc:
        module.fail(exc, changed=plan.changed, **reboot_summary(plan))
    result = dict(reboot_summary(plan), changed=plan.changed, msg=runner.message(plan))
    if module.diff_mode:
        result["diff"] = runner.diff(plan)
    return result


def main():
    module = CtCloudModule(
        {
            "slug": {"type": "list", "elements": "str"},
            "id": {"type": "list", "elements": "str"},
            "mac": {"type": "list", "elements": "str", "aliases": ["calledstationid"]},
            "location": {"type": "list", "elements": "str"},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 300},
            "batch_size": {"type": "int"},
            "fail_on_offline": {"type": "bool", "default": False},
            "skip_if_rebooted_within": {"type": "int"},
        },
        cloud="ct",
        supports_check_mode=True,
        required_one_of=[("slug", "id", "mac", "location")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
