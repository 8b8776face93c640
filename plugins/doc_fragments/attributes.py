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
