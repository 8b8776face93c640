# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute declarations (check mode, diff mode, action groups) shared by the modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return the changed status and the result it would produce.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when run with C(--diff).
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - "On a local connection (C(localhost), C(delegate_to: localhost), C(ansible_connection: local)) the action plugin
        runs the module inside Ansible's worker process, with the Python that runs Ansible (which therefore needs
        C(requests) and C(jsonschema)); C(ansible_python_interpreter) plays no part there."
      - "On any other connection, with C(become) or C(async), or with the host variable C(ctcloud_in_process=false),
        the module runs as a module process, as every Ansible module does."
"""

    # Not named CT/CTHINGS: ansible-core resolves "ctcloud.cloud.attributes.ct" to the fragment ctcloud.cloud.ct
    # (whose notes then appeared twice) instead of this variable.
    CT_ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ctcloud.cloud.ct) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - ctcloud.cloud.ct
"""

    CTHINGS_ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ctcloud.cloud.cthings) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - ctcloud.cloud.cthings
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module changes nothing; it runs normally in check mode.
  diff_mode:
    support: N/A
    details: This module changes nothing.
"""
