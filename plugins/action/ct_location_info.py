# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs ctcloud.cloud.ct_location_info in the task's worker process when the connection is local, else remotely as ever."""

from __future__ import annotations

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    """The action plugin of ctcloud.cloud.ct_location_info (see plugins/plugin_utils/controller_module.py)."""
