# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests' real ``redis-server``: the system suite's helper (``tests/system/ctsystem/redis_server.py``), one copy of it."""

from __future__ import annotations

from ansible_collections.ctcloud.cloud.tests.system.ctsystem.redis_server import RedisServer

__all__ = ["RedisServer"]
