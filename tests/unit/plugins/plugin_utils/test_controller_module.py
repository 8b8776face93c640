# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module inside this process (plugin_utils/controller_module): what it returns, and what it leaves behind.

The probe module (fixtures/probe_module.py) runs through the same entry point the action plugins
use; the end-to-end proof with ansible-playbook, the emulator and the real modules is in
tests/system/test_controller_side.py.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import locale
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleError
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.plugins import loader as plugin_loader

from ansible_collections.ctcloud.cloud.plugins.plugin_utils import controller_module
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.controller_module import (
    ControllerModuleAction,
    ModuleRun,
    collection_module_name,
    encode_arguments,
    exit_status,
    module_for_action,
    module_process,
    prepare_module,
    restore_environ,
    run_module_here,
    top_level_imports,
)

FIXTURES = "ansible_collections.ctcloud.cloud.tests.unit.plugins.plugin_utils.fixtures"
PROBE = f"{FIXTURES}.probe_module"
COLLECTION = Path(__file__).resolve().parents[4]


def probe_run(tmp_path: Path, environment: dict[str, str] | None = None, **args: object) -> ModuleRun:
    return ModuleRun(
        module_path=str(Path(__file__).parent / "fixtures" / "probe_module.py"), module_fqn=PROBE, modlib_path=str(tmp_path),
        json_params=encode_arguments(args), environment=environment or {},
    )


def result_of(stdout: str) -> dict:
    """The JSON object a module printed (after any noise), as the controller finds it."""
    return json.loads(stdout[stdout.index("\n{") + 1:] if not stdout.startswith("{") else stdout)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def process_state() -> dict[str, object]:
    return {
        "umask": current_umask(),
        "environ": dict(os.environ), "cwd": os.getcwd(), "stdout": sys.stdout, "stderr": sys.stderr, "argv": list(sys.argv),
        "args": basic._ANSIBLE_ARGS, "profile": basic._ANSIBLE_PROFILE, "parsed": basic._PARSED_MODULE_ARGS,
        "warnings": dict(module_warnings._global_warnings), "deprecations": dict(module_warnings._global_deprecations),
        "is_controller": module_utils_internal.is_controller, "locale": locale.setlocale(locale.LC_ALL), "main": sys.modules["__main__"],
    }


def test_ansible_core_offers_what_running_in_process_needs():
    assert controller_module.IN_PROCESS_SUPPORTED  # 2.19 and later; older versions run every module remotely


def test_every_module_has_an_action_plugin_of_the_same_name_that_runs_it():
    modules = sorted(path.stem for path in (COLLECTION / "plugins" / "modules").glob("*.py"))
    actions = sorted(path.stem for path in (COLLECTION / "plugins" / "action").glob("*.py"))
    assert modules and actions == modules
    for name in actions:
        action = importlib.import_module(f"ansible_collections.ctcloud.cloud.plugins.action.{name}")
        assert issubclass(action.ActionModule, ControllerModuleAction), name
        assert module_for_action(action.__name__) == f"ansible_collections.ctcloud.cloud.plugins.modules.{name}"


def test_an_action_maps_to_the_module_of_its_name_and_nothing_else_to_anything():
    assert module_for_action("ansible_collections.ns.coll.plugins.action.thing") == "ansible_collections.ns.coll.plugins.modules.thing"
    assert module_for_action("ansible.plugins.action.thing") is None
    assert module_for_action("ansible_collections.ns.coll.plugins.modules.thing") is None


def test_a_module_of_a_collection_has_its_python_name_and_a_builtin_one_none():
    assert collection_module_name("ctcloud.cloud.ct_location") == "ansible_collections.ctcloud.cloud.plugins.modules.ct_location"
    assert collection_module_name("ns.coll.sub.thing") == "ansible_collections.ns.coll.plugins.modules.sub.thing"
    assert collection_module_name("ansible.posix.synchronize") == "ansible_collections.ansible.posix.plugins.modules.synchronize"
    for name in ("ansible.builtin.ping", "ansible.legacy.ping", "ping", "", None):
        assert collection_module_name(name) is None, name


def test_the_imports_of_a_module_body_are_found_also_under_try_and_if_but_not_in_functions():
    tree = ast.parse(
        "from __future__ import annotations\nimport json, os.path\nfrom a.b import c, d\ntry:\n    import e\nexcept ImportError:\n"
        "    import f\nelse:\n    import g\nfinally:\n    import h\nif True:\n    import i\nelse:\n    import j\n"
        "from . import relative\ndef later():\n    import k\nclass Thing:\n    import m\n"
    )
    assert top_level_imports(tree) == [
        ("json", []), ("os.path", []), ("a.b", ["c", "d"]), ("e", []), ("g", []), ("f", []), ("h", []), ("i", []), ("j", []),
    ]


def test_preparing_a_module_imports_its_imports_without_running_its_body(monkeypatch):
    dependency = f"{FIXTURES}.probe_dependency"
    monkeypatch.delitem(sys.modules, dependency, raising=False)
    monkeypatch.delitem(sys.modules, PROBE, raising=False)
    monkeypatch.setattr(controller_module, "_PREPARED", set())
    prepare_module(PROBE)
    assert dependency in sys.modules
    assert sys.modules[dependency].BODY_RUNS == []
    assert PROBE not in sys.modules  # runpy would warn about a module imported before it runs it as __main__


def test_preparing_a_module_that_does_not_exist_does_nothing(monkeypatch):
    monkeypatch.setattr(controller_module, "_PREPARED", set())
    prepare_module(f"{FIXTURES}.no_such_module")


def test_a_module_run_returns_its_result_warnings_and_deprecations_with_secrets_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("PROBE_REMOVED_BY_MODULE", "still here")
    monkeypatch.delenv("PROBE_VARIABLE", raising=False)
    monkeypatch.chdir(tmp_path)
    before = process_state()
    rc, stdout, stderr = run_module_here(probe_run(tmp_path, {"PROBE_VARIABLE": "from the task"}, mode="ok", secret="hunter2-secret"),
                                         cwd=str(tmp_path / "missing"))
    assert rc == 0, (stdout, stderr)
    assert stdout.startswith("noise before the result\n")
    result = result_of(stdout)
    assert result["seen"] == "from the task"  # the task's environment: keyword
    assert result["cwd"] == str(tmp_path)  # a working directory that does not exist is not entered
    assert result["secret_echo"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # AnsibleModule masks a no_log value returned whole
    assert "hunter2-secret" not in stdout
    if "invocation" in result:  # always on 2.19; on 2.21 only with inject_invocation
        assert result["invocation"]["module_args"]["secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "a warning of the probe" in json.dumps(result["warnings"])
    assert "a deprecation of the probe" in json.dumps(result["deprecations"])
    assert process_state() == before  # environment, cwd, streams, argv, module globals, locale: all as they were


def test_the_task_environment_and_the_playbook_directory_apply_only_during_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("PROBE_VARIABLE", raising=False)
    playbook_dir = tmp_path / "playbook"
    playbook_dir.mkdir()
    before = process_state()
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, {"PROBE_VARIABLE": "x"}, mode="ok"), cwd=str(playbook_dir))
    assert rc == 0
    assert result_of(stdout)["cwd"] == str(playbook_dir)
    assert os.environ.get("PROBE_VARIABLE") is None and os.environ.get("PROBE_SET_BY_MODULE") is None
    assert process_state() == before


def test_a_second_run_in_the_same_process_starts_clean(tmp_path):
    first = result_of(run_module_here(probe_run(tmp_path, {"PROBE_VARIABLE": "first"}, mode="ok"))[1])
    second = result_of(run_module_here(probe_run(tmp_path, mode="ok"))[1])
    assert first["seen"] == "first" and second["seen"] is None
    assert len(second["warnings"]) == 1 and len(second["deprecations"]) == 1  # not the first run's again


def test_check_mode_reaches_the_module(tmp_path):
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, mode="ok", _ansible_check_mode=True))
    assert rc == 0 and result_of(stdout)["check_mode"] is True


def test_fail_json_is_a_failed_result_with_exit_status_1_and_the_secret_masked(tmp_path):
    before = process_state()
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, mode="fail", secret="hunter2-secret"))
    result = result_of(stdout)
    assert rc == 1 and result["failed"] is True
    assert result["msg"] == "failed as asked, secret ********"
    assert process_state() == before


def test_bad_arguments_fail_as_argument_errors(tmp_path):
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, mode="sideways"))
    result = result_of(stdout)
    assert rc == 1 and result["failed"] is True and "mode" in result["msg"]


def test_an_exception_in_the_module_is_a_failed_result_not_a_crash_of_this_process(tmp_path):
    before = process_state()
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, mode="raise"))
    result = result_of(stdout)
    assert rc == 1 and result["failed"] is True
    assert "raised as asked" in json.dumps(result)
    assert process_state() == before


def test_a_module_that_returns_without_a_result_fails(tmp_path):
    rc, stdout, _stderr = run_module_here(probe_run(tmp_path, mode="return"))
    assert rc == 1 and "did not handle its own exit" in json.dumps(result_of(stdout))


def test_sys_exit_with_a_message_exits_1_and_writes_the_message_to_stderr(tmp_path):
    rc, stdout, stderr = run_module_here(probe_run(tmp_path, mode="exit_text"))
    assert (rc, stdout, stderr) == (1, "", "exited as asked\n")


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (3, 3)])
def test_exit_status_is_what_a_process_would_exit_with(code, status):
    assert exit_status(code) == status


def test_the_process_state_comes_back_even_when_the_run_is_interrupted(monkeypatch):
    monkeypatch.delenv("PROBE_VARIABLE", raising=False)
    before = process_state()
    with pytest.raises(KeyboardInterrupt), module_process({"PROBE_VARIABLE": "x"}, cwd="/"):
        assert os.environ["PROBE_VARIABLE"] == "x" and os.getcwd() == "/"
        assert module_utils_internal.is_controller is False
        print("captured, not shown")
        raise KeyboardInterrupt
    assert process_state() == before


def test_restore_environ_removes_added_and_restores_changed_and_deleted_variables(monkeypatch):
    monkeypatch.setenv("PROBE_KEPT", "1")
    monkeypatch.setenv("PROBE_CHANGED", "old")
    monkeypatch.setenv("PROBE_DELETED", "was here")
    monkeypatch.delenv("PROBE_ADDED", raising=False)
    saved = dict(os.environ)
    os.environ.update(PROBE_CHANGED="new", PROBE_ADDED="1")
    del os.environ["PROBE_DELETED"]
    restore_environ(saved)
    assert dict(os.environ) == saved


def bare_action(action: str = "ctcloud.cloud.cthings_device_info", transport: str = "local", become: bool = False, async_val: int = 0,
                delegate_to: str | None = None) -> ControllerModuleAction:
    """The action plugin with just what deciding reads: the task, its connection and play context, a templar, the loaders."""
    plugin = ControllerModuleAction.__new__(ControllerModuleAction)
    plugin._connection = SimpleNamespace(transport=transport)
    plugin._play_context = SimpleNamespace(become=become, remote_addr="127.0.0.1")
    plugin._task = SimpleNamespace(action=action, collections=None, async_val=async_val, delegate_to=delegate_to)
    plugin._templar = SimpleNamespace(template=lambda value: value)
    plugin._shared_loader_obj = plugin_loader
    return plugin


def decision(transport: str = "local", become: bool = False, async_val: int = 0, variables: dict | None = None) -> str | None:
    """Why an action with this connection, become and async would run its module remotely (None: here)."""
    return bare_action(transport=transport, become=become, async_val=async_val)._remote_reason(variables or {})


def test_a_local_task_runs_the_module_file_the_loader_resolves_under_its_python_name():
    for action in ("ctcloud.cloud.cthings_device_info", "ctcloud.cloud.ct_location"):
        module_run = bare_action(action)._in_process_run({})
        leaf = action.rsplit(".", 1)[1]
        assert module_run is not None, action
        assert module_run.module_fqn == f"ansible_collections.ctcloud.cloud.plugins.modules.{leaf}"
        assert module_run.module_path.endswith(f"/ansible_collections/ctcloud/cloud/plugins/modules/{leaf}.py")
        assert Path(module_run.modlib_path, "ansible_collections").is_dir()
        assert importlib.util.find_spec(module_run.module_fqn).origin == module_run.module_path


def test_a_task_delegated_to_a_host_that_opted_out_runs_remotely():
    plugin = bare_action(delegate_to="jumphost")
    task_vars = {"ctcloud_in_process": True, "ansible_delegated_vars": {"jumphost": {"ctcloud_in_process": False}}}
    assert plugin._in_process_run(task_vars) is None
    assert bare_action()._in_process_run({"ctcloud_in_process": True}) is not None


def test_a_module_that_is_not_a_collections_python_module_runs_remotely():
    assert bare_action("ansible.builtin.ping")._in_process_run({}) is None


def test_a_local_connection_runs_the_module_here_and_anything_else_remotely():
    assert decision() is None
    assert "not local" in decision(transport="ssh")
    assert "not local" in decision(transport="pretend_remote")
    assert "become" in decision(become=True)
    assert "async" in decision(async_val=30)
    assert "ctcloud_in_process" in decision(variables={"ctcloud_in_process": False})
    assert decision(variables={"ctcloud_in_process": "yes"}) is None
    with pytest.raises(AnsibleError, match="ctcloud_in_process must be a boolean"):
        decision(variables={"ctcloud_in_process": "sometimes"})
