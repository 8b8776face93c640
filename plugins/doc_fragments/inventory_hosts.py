# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What both inventory plugins set on hosts that run on the controller."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  python_interpreter:
    description:
      - The C(ansible_python_interpreter) of every host whose C(ansible_connection) is C(local) (after O(compose)).
        Tasks on such a host run on the controller, and the collection's modules need the Python that has
        C(requests) and C(jsonschema), which is the one running Ansible; interpreter discovery may find another
        (the system Python, a pyenv shim) and fail with "Failed to import the required Python library".
      - By default the Python running Ansible (what C(ansible_playbook_python) names). Any other value is set as
        given, for example V(auto) for Ansible's interpreter discovery; an empty string sets nothing, so that
        your own inventory or group variables decide. A host whose O(compose) sets C(ansible_python_interpreter)
        keeps that value.
    type: str
"""
