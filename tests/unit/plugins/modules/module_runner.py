# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module's main() in-process for unit tests, on every ansible-core the collection supports."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings


@contextlib.contextmanager
def module_args(args: dict[str, Any]):
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core < 2.19
        previous = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = previous
    else:
        with patch_module_args(args):
            yield


def run_main(main: Callable[[], None], capsys: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The result a module's main() printed for ``args`` (it always exits, failed or not).

    ansible-core keeps warnings in a process-wide list that a module process would start empty: cleared here, so
    a result carries only the warnings of its own run, not those of the tests before it.
    """
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    with module_args(args), pytest.raises(SystemExit):
        main()
    return json.loads(capsys.readouterr().out)
