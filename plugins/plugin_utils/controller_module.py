# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module of this collection inside the task's worker process on the controller.

Every module of the collection talks to a cloud API and nothing else, so on a local
connection the remote-module machinery (AnsiballZ payload, a fresh Python, imports,
temporary files) costs far more than the one HTTP request a task makes. The action
plugin of each module (``plugins/action/<module>.py``, a subclass of
:class:`ControllerModuleAction`) runs the module file itself, through the same entry
point AnsiballZ uses (``_loader.run_module``: the arguments as the module's JSON
profile encodes them, ``AnsibleModule`` reading them, ``exit_json``/``fail_json``
printing the result and exiting), and hands what it printed to ansible-core's own
``_execute_module`` result handling. So argument validation, ``no_log``, check mode,
diff, warnings, deprecations and the result keys are the module's, not a copy.

What "in-process" must take care of, because the worker process lives on after the
module (loops run every item in it, and ansible-core post-processes the result there):
``sys.exit`` is caught; stdout/stderr are captured; ``os.environ`` gets the task's
``environment:`` and is restored, as are the working directory (the playbook
directory, as for a local module process), the umask, the locale, and the module globals of
``ansible.module_utils`` that a module run sets (its arguments, accumulated warnings
and deprecations, and whether it runs on the controller).

Anything else runs the module as ever (``_execute_module`` over the connection):
a connection other than ``local`` (a jump host that alone reaches the API), ``become``
(the module must run as another user), ``async``, the host variable
``ctcloud_in_process: false`` (the user's way back to a module process with the host's
``ansible_python_interpreter``), or an ansible-core whose internals this needs are
missing (before 2.19).

Imports: the linear and free strategies load an action plugin's class in the main
process before they fork the task's worker, so the module's own imports (``requests``,
the collection's module_utils) are done once there, when a task of the collection is
first queued (:func:`prepare_module`), and every worker inherits them. A play that
never uses the collection never loads these plugins.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import json
import locale
import os
import re
import shutil
import sys
import tempfile
import typing as t
from dataclasses import dataclass

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

try:
    # ansible-core >= 2.19: the payload description _execute_module consumes, the AnsiballZ
    # entry point, and the module-side globals a module run sets.
    from ansible.executor.module_common import _BuiltModule
    from ansible.module_utils import _internal as _module_utils_internal
    from ansible.module_utils import basic as _basic
    from ansible.module_utils._internal._ansiballz import _loader as _ansiballz_loader
    from ansible.module_utils.common import warnings as _module_warnings
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
except ImportError:  # pragma: no cover - older ansible-core runs every module remotely
    IN_PROCESS_SUPPORTED = False
else:
    IN_PROCESS_SUPPORTED = all(
        hasattr(owner, name)
        for owner, name in (
            (_basic, "_ANSIBLE_ARGS"), (_basic, "_ANSIBLE_PROFILE"), (_basic, "_PARSED_MODULE_ARGS"),
            (_module_warnings, "_global_warnings"), (_module_warnings, "_global_deprecations"),
            (_module_utils_internal, "is_controller"), (_ansiballz_loader, "run_module"),
        )
    )

display = Display()

# Where the ansible_collections directory of a module file is (as ansible.executor.module_common.COLLECTION_PATH_RE sees it).
_COLLECTION_MODULE_PATH = re.compile(r"^(?P<root>.*)/ansible_collections/[^/]+/[^/]+/plugins/modules/.*\.py$")
_ACTION_PYTHON_NAME = re.compile(r"^(?P<collection>ansible_collections\.[^.]+\.[^.]+)\.plugins\.action\.(?P<leaf>.+)$")
_DEFAULT_PROFILE = "legacy"
# A host variable: false runs the modules of this collection as ordinary modules (a Python process
# per task, with the host's ansible_python_interpreter) even on a local connection.
OPT_OUT = "ctcloud_in_process"


@dataclass
class ModuleRun:
    """One module run in this process: what _configure_module prepared, consumed by _low_level_execute_command."""

    module_path: str
    module_fqn: str
    modlib_path: str
    profile: str = _DEFAULT_PROFILE
    json_params: bytes = b""
    environment: dict[str, str] | None = None
    tmpdir: str | None = None
    pending: bool = False


class ControllerModuleAction(ActionBase):
    """The action plugin of a module of this collection; see the module docstring.

    A subclass named ``ActionModule`` in ``plugins/action/<module>.py`` is all a module needs.
    """

    _supports_check_mode = True  # the module decides, as AnsibleModule does remotely
    _supports_async = True  # async tasks run the module remotely (async_wrapper)

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        module = module_for_action(cls.__module__)
        if module is not None:
            prepare_module(module)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._ctcloud_run: ModuleRun | None = None

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp  # no effect since ansible-core 2.x; ActionBase.run warned if it was given
        module_run = self._in_process_run(task_vars or {})
        if module_run is not None:
            self._ctcloud_run = module_run
            try:
                return merge_hash(result, self._execute_module(task_vars=task_vars))
            finally:
                self._ctcloud_run = None
                if module_run.tmpdir:
                    shutil.rmtree(module_run.tmpdir, ignore_errors=True)
        # The remote path, exactly as ansible.builtin.normal takes it.
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- deciding

    def _in_process_run(self, task_vars: dict[str, t.Any]) -> ModuleRun | None:
        """A run of the task's module in this process, or None when it must run over the connection."""
        delegated = self._task.delegate_to
        host_vars = task_vars.get("ansible_delegated_vars", {}).get(delegated, {}) if delegated else task_vars
        reason = self._remote_reason(host_vars)
        module_run = None
        if reason is None:
            found = self._shared_loader_obj.module_loader.find_plugin_with_context(self._task.action, collection_list=self._task.collections)
            path = found.plugin_resolved_path if found.resolved else None
            python_name = collection_module_name(found.resolved_fqcn) if path and path.endswith(".py") else None
            if python_name is None:
                reason = f"its module ({path or 'not found'}) is not a Python module of a collection"
            else:
                # The directory holding ansible_collections, as AnsiballZ's payload would be: only respawn_module reads it.
                root = _COLLECTION_MODULE_PATH.match(path)
                module_run = ModuleRun(path, python_name, root.group("root") if root else os.path.dirname(path))
        if module_run is None:
            display.vvv(f"{self._task.action}: runs over the {self._connection.transport} connection: {reason}", host=self._play_context.remote_addr)
        else:
            display.vvv(f"{self._task.action}: runs in the controller's worker process (local connection)", host=self._play_context.remote_addr)
        return module_run

    def _remote_reason(self, host_vars: dict[str, t.Any]) -> str | None:
        """Why the module must run over the connection, or None: it runs here. ``host_vars``: of the host it runs for."""
        if not IN_PROCESS_SUPPORTED:
            return "running modules in-process needs ansible-core 2.19 or later"
        if self._connection.transport != "local":
            return "the connection is not local"
        if self._play_context.become:
            return "become: the module must run as another user"
        if self._task.async_val:
            return "async: the module runs in the background through async_wrapper"
        if OPT_OUT in host_vars:
            value = self._templar.template(host_vars[OPT_OUT])
            try:
                in_process = boolean(value, strict=True)
            except TypeError:
                raise AnsibleError(f"{OPT_OUT} must be a boolean, got {value!r}") from None
            if not in_process:
                return f"{OPT_OUT} is false"
        return None

    # -- ActionBase steps of _execute_module, redirected while a module runs in this process

    def _is_pipelining_enabled(self, module_style: str, wrap_async: bool = False) -> bool:
        # Nothing is transferred: no remote temporary directory, no payload file.
        if self._ctcloud_run is not None:
            return True
        return super()._is_pipelining_enabled(module_style, wrap_async)

    def _update_module_args(self, module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any], *args: t.Any, **kwargs: t.Any) -> None:
        super()._update_module_args(module_name, module_args, task_vars, *args, **kwargs)
        module_run = self._ctcloud_run
        if module_run is not None:
            # A module that asks AnsibleModule for a temporary directory gets this one, removed after the
            # task; one it created itself would be removed by an atexit handler, and a worker never runs those.
            module_run.tmpdir = tempfile.mkdtemp(prefix="ansible-ctcloud-")
            module_args["_ansible_tmpdir"] = module_run.tmpdir

    def _configure_module(self, module_name: str, module_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> t.Any:
        module_run = self._ctcloud_run
        if module_run is None:
            return super()._configure_module(module_name, module_args, task_vars)
        module_run.profile = serialization_profile(module_run.module_path)
        environment: dict[str, t.Any] = {}
        self._compute_environment_string(environment)
        module_run.environment = {str(name): str(value) for name, value in environment.items()}
        try:
            module_run.json_params = encode_arguments(module_args, module_run.profile)
        except TypeError as ex:
            raise AnsibleError(f"Failed to serialize arguments for the {module_name!r} module.") from ex
        module_run.pending = True
        built = _BuiltModule(b_module_data=b"", module_style="new", shebang=f"#!{sys.executable}", serialization_profile=module_run.profile)
        return built, module_run.module_path

    def _low_level_execute_command(self, cmd: str, *args: t.Any, **kwargs: t.Any) -> dict[str, t.Any]:
        module_run = self._ctcloud_run
        if module_run is None or not module_run.pending:
            return super()._low_level_execute_command(cmd, *args, **kwargs)
        module_run.pending = False
        rc, stdout, stderr = run_module_here(module_run, cwd=self._loader.get_basedir())
        return {"rc": rc, "stdout": stdout, "stdout_lines": stdout.splitlines(), "stderr": stderr, "stderr_lines": stderr.splitlines()}


# --------------------------------------------------------------------------- running the module


def encode_arguments(module_args: dict[str, t.Any], profile: str = _DEFAULT_PROFILE) -> bytes:
    """The module's arguments as AnsiballZ hands them over: ``{"ANSIBLE_MODULE_ARGS": ...}`` in the module's JSON profile."""
    encoder = get_module_encoder(profile, Direction.CONTROLLER_TO_MODULE)
    return json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()


def run_module_here(module_run: ModuleRun, cwd: str | None = None) -> tuple[int, str, str]:
    """Run the module as AnsiballZ would, in this process: (exit status, what it printed, what it wrote to stderr)."""
    with module_process(module_run.environment or {}, cwd) as (stdout, stderr):
        try:
            _ansiballz_loader.run_module(
                json_params=module_run.json_params,
                profile=module_run.profile,
                module_fqn=module_run.module_fqn,
                modlib_path=module_run.modlib_path,
                extensions={},
            )
            rc = 0  # not reached: run_module turns a module that returns into a failure, and every result exits
        except SystemExit as exc:
            rc = exit_status(exc.code)
    return rc, stdout.getvalue(), stderr.getvalue()


def exit_status(code: object) -> int:
    """The status a process would exit with after ``sys.exit(code)``; a message goes to stderr, as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def module_process(environment: dict[str, str], cwd: str | None = None) -> t.Iterator[tuple[io.StringIO, io.StringIO]]:
    """What a module process would have of its own, for the duration of one module run in this one.

    The environment with the task's ``environment:`` on top, the working directory, the umask,
    stdout and stderr (captured), and module-side globals of ``ansible.module_utils``; all
    restored after.
    """
    saved_environ = dict(os.environ)
    saved_cwd = _getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_locale = _current_locale()
    saved_streams = (sys.stdout, sys.stderr)
    saved_argv = list(sys.argv)
    saved_basic = (_basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE, _basic._PARSED_MODULE_ARGS)
    saved_warnings = (dict(_module_warnings._global_warnings), dict(_module_warnings._global_deprecations))
    saved_is_controller = _module_utils_internal.is_controller
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        os.environ.update(environment)
        if cwd and cwd != saved_cwd and os.path.isdir(cwd):
            os.chdir(cwd)
        _module_warnings._global_warnings.clear()
        _module_warnings._global_deprecations.clear()
        # A module records warnings and deprecations in its result; on the controller they would be displayed instead.
        _module_utils_internal.is_controller = False
        sys.stdout, sys.stderr = stdout, stderr
        yield stdout, stderr
    finally:
        sys.stdout, sys.stderr = saved_streams
        _module_utils_internal.is_controller = saved_is_controller
        _basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE, _basic._PARSED_MODULE_ARGS = saved_basic
        _replace_contents(_module_warnings._global_warnings, saved_warnings[0])
        _replace_contents(_module_warnings._global_deprecations, saved_warnings[1])
        sys.argv[:] = saved_argv
        os.umask(saved_umask)
        if saved_cwd is not None and _getcwd() != saved_cwd:
            os.chdir(saved_cwd)
        if saved_locale is not None and _current_locale() != saved_locale:
            locale.setlocale(locale.LC_ALL, saved_locale)
        restore_environ(saved_environ)


def restore_environ(saved: dict[str, str]) -> None:
    """Make ``os.environ`` exactly ``saved`` again (through os.environ, so the C environment follows)."""
    for name in [name for name in os.environ if name not in saved]:
        del os.environ[name]
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _replace_contents(target: dict, saved: dict) -> None:
    target.clear()
    target.update(saved)


def _getcwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _current_locale() -> str | None:
    try:
        return locale.setlocale(locale.LC_ALL)
    except locale.Error:
        return None


# --------------------------------------------------------------------------- the module file


def collection_module_name(fqcn: str | None) -> str | None:
    """``ns.coll.name`` (a module's resolved name) -> ``ansible_collections.ns.coll.plugins.modules.name``; None outside collections."""
    parts = (fqcn or "").split(".")
    if len(parts) < 3 or parts[:2] in (["ansible", "builtin"], ["ansible", "legacy"]):
        return None
    return ".".join(["ansible_collections", parts[0], parts[1], "plugins", "modules", *parts[2:]])


def module_for_action(python_name: str) -> str | None:
    """``ansible_collections.ns.coll.plugins.action.name`` -> the Python name of the module of the same name."""
    match = _ACTION_PYTHON_NAME.match(python_name)
    return f"{match.group('collection')}.plugins.modules.{match.group('leaf')}" if match else None


_PROFILES: dict[str, str] = {}


def serialization_profile(module_path: str) -> str:
    """The JSON profile of the module's arguments and result, as AnsiballZ picks it (module METADATA, when enabled)."""
    profile = _PROFILES.get(module_path)
    if profile is None:
        profile = _DEFAULT_PROFILE
        from ansible import constants as C  # pylint: disable=import-outside-toplevel  # already imported by ansible-core

        if C.config.get_config_value("_MODULE_METADATA"):
            from ansible.executor import module_common  # pylint: disable=import-outside-toplevel

            with open(module_path, "rb") as source:
                profile = module_common._get_module_metadata(ast.parse(source.read())).serialization_profile
        _PROFILES[module_path] = profile
    return profile


_PREPARED: set[str] = set()


def prepare_module(python_name: str) -> None:
    """Import what the module imports at its top level, here and now, so that forked workers inherit it.

    Only imports, read from the module's syntax tree: no module code runs. Best effort: whatever
    fails here fails again, and is reported, when the module runs.
    """
    if python_name in _PREPARED or not IN_PROCESS_SUPPORTED:
        return
    _PREPARED.add(python_name)
    try:
        spec = importlib.util.find_spec(python_name)
        source = spec.loader.get_source(python_name) if spec is not None and spec.loader is not None else None
        tree = ast.parse(source) if source else None
    except Exception:  # pylint: disable=broad-exception-caught  # best effort, see above
        return
    for module_name, names in top_level_imports(tree) if tree is not None else ():
        try:
            module = importlib.import_module(module_name)
        except Exception:  # pylint: disable=broad-exception-caught  # best effort, see above
            continue
        for name in names:
            if not hasattr(module, name):  # ``from package import submodule``
                with contextlib.suppress(Exception):
                    importlib.import_module(f"{module_name}.{name}")
    for direction in (Direction.CONTROLLER_TO_MODULE, Direction.MODULE_TO_CONTROLLER):
        with contextlib.suppress(Exception):
            get_module_encoder(_DEFAULT_PROFILE, direction)
            get_module_decoder(_DEFAULT_PROFILE, direction)


def top_level_imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) of the module body (also inside top-level try/if), not inside functions."""
    imports: list[tuple[str, list[str]]] = []
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.Import):
            imports += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "__future__":
            imports.append((node.module, [alias.name for alias in node.names if alias.name != "*"]))
        elif isinstance(node, (ast.Try, ast.If)):
            statements += node.body + node.orelse + [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
            statements += getattr(node, "finalbody", [])
    return imports
