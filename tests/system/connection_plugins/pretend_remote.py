# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection that is not ``local`` but runs its commands on this machine, as ``local`` does.

Test helper of the system tests: the collection's action plugins run a module inside the worker
process only on a ``local`` connection. A host with this connection stands for a remote one (a jump
host that alone reaches the API): the module goes the whole remote way (AnsiballZ payload, a
module process with the host's interpreter), without SSH and without leaving 127.0.0.1.
"""

from __future__ import annotations

from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = r"""
name: pretend_remote
short_description: Run commands on this machine, as a connection that is not local
description:
  - Test helper of the ctcloud.cloud system tests. Behaves like the C(local) connection in every way except its name.
author: ctcloud.cloud contributors (@ctcloud)
options:
  become_success_timeout:
    type: int
    default: 10
    description: As for the local connection.
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    type: bool
    default: true
    description: As for the local connection.
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
"""


class Connection(LocalConnection):
    transport = "pretend_remote"
