# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/noxsupport, what the nox sessions share: the collection copy, the emulator, the machine."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if not (ROOT / "tools" / "noxsupport").is_dir():
    pytest.skip("a built collection: tools/ is not shipped", allow_module_level=True)
sys.path.insert(0, str(ROOT / "tools"))

from noxsupport import collection, emulator, machine  # noqa: E402  # pylint: disable=wrong-import-position


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A work tree without git (so the directory walk decides) and the copy of it."""
    repo, copy = tmp_path / "repo", tmp_path / "collections" / "ansible_collections" / "ctcloud" / "cloud"
    for name, text in {"galaxy.yml": "name: cloud\n", "plugins/modules/a.py": "A = 1\n", "tests/output/junk.txt": "x",
                       ".nox/s/bin/python": "", "tests/benchmark/results/r.json": "{}"}.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    monkeypatch.setattr(collection, "REPO", repo)
    monkeypatch.setattr(collection, "COPY", copy)
    return repo, copy


def test_the_copy_holds_the_collection_and_nothing_else(tree):
    _repo, copy = tree
    collection.sync()
    files = sorted(str(path.relative_to(copy)) for path in copy.rglob("*") if path.is_file() and ".git" not in path.parts)
    assert files == ["galaxy.yml", "plugins/modules/a.py"]
    assert (copy / ".git").is_dir(), "the copy needs a git repository of its own"


def test_a_sync_removes_what_the_work_tree_lost_and_keeps_ansible_tests_output(tree):
    repo, copy = tree
    collection.sync()
    (copy / "tests" / "output").mkdir(parents=True)
    (copy / "tests" / "output" / "results.xml").write_text("kept")
    (repo / "plugins" / "modules" / "a.py").unlink()
    (repo / "plugins" / "modules" / "b.py").write_text("B = 2\n")
    collection.sync()
    assert not (copy / "plugins" / "modules" / "a.py").exists()
    assert (copy / "plugins" / "modules" / "b.py").read_text() == "B = 2\n"
    assert (copy / "tests" / "output" / "results.xml").read_text() == "kept"


def test_a_changed_file_is_copied_again(tree):
    repo, copy = tree
    collection.sync()
    (repo / "galaxy.yml").write_text("name: cloud\nversion: 2\n")
    collection.sync()
    assert (copy / "galaxy.yml").read_text() == "name: cloud\nversion: 2\n"


def test_a_copy_whose_git_sees_no_modules_is_an_error_not_an_empty_pass(tree):
    repo, _copy = tree
    (repo / ".gitignore").write_text("plugins/\n")  # copied along: git in the copy ignores the modules
    with pytest.raises(RuntimeError, match="lists no plugins/modules"):
        collection.sync()


def test_the_emulator_starts_answers_and_is_stopped(tmp_path):
    with emulator.running(sys.executable, tmp_path, ["--dialect", "legacy"]) as emu:
        emulator.write_integration_config(emu, tmp_path / "config.yml", tmp_path / "tokens.json")
        environment = emu.environment(tmp_path / "tokens.json")
        pid = emu.process.pid
        locations = emu.state()["locations"]
    config = dict(line.split(": ", 1) for line in (tmp_path / "config.yml").read_text().splitlines() if not line.startswith("#"))
    assert set(config) == set(emulator.CONFIG) | {"ctcloud_token_store"}
    assert json.loads(config["emulator_dialect"]) == "legacy"
    assert json.loads(config["ct_api_url"]).startswith("http://127.0.0.1:")
    assert environment["CT_API_URL"] == json.loads(config["ct_api_url"])
    assert len(locations) > 6, "a session's emulator has the emulator's own seed, not the system suite's small one"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_emulator_that_cannot_start_is_an_error_with_its_log(tmp_path):
    with pytest.raises(Exception, match="exited with 2"), emulator.running(sys.executable, tmp_path, ["--no-such-option"]):
        pass


def test_pip_shims_are_written_but_a_real_get_pip_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True)
    (cache / "get_pip_24_2.py").write_text("# the real get-pip.py\n")
    (cache / "get_pip_25_2.py").write_text(f"# {machine.SHIM_MARKER}, an older shim\n")
    machine.write_pip_shims()
    assert (cache / "get_pip_24_2.py").read_text() == "# the real get-pip.py\n"
    assert (cache / "get_pip_25_2.py").read_text() == machine.SHIM


def test_the_pip_version_an_installed_ansible_test_wants_gets_a_shim(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    source = tmp_path / "venv" / "lib" / "python3.12" / "site-packages" / "ansible_test" / "_internal" / "python_requirements.py"
    source.parent.mkdir(parents=True)
    source.write_text("    default_packages = dict(\n        pip='26.1',\n    )\n")
    machine.write_pip_shims(tmp_path / "venv")
    assert (tmp_path / ".ansible" / "test" / "cache" / "get_pip_26_1.py").read_text() == machine.SHIM
    assert machine.pip_versions(tmp_path / "venv") == ["24.2", "25.2", "26.1"]


def test_python_links_point_at_the_newest_pyenv_patch_release(tmp_path, monkeypatch):
    for version in ("3.12.9", "3.12.10", "3.13.0"):
        python = tmp_path / "pyenv" / "versions" / version / "bin" / f"python{version[:4]}"
        python.parent.mkdir(parents=True)
        python.write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(machine, "PYBIN", tmp_path / "pybin")
    machine.link_pythons(("3.12", "3.13", "3.10"))
    assert os.readlink(tmp_path / "pybin" / "python3.12").endswith("/3.12.10/bin/python3.12")
    assert os.readlink(tmp_path / "pybin" / "python3.13").endswith("/3.13.0/bin/python3.13")
    assert not (tmp_path / "pybin" / "python3.10").exists()


def test_apt_get_installs_the_first_package_that_makes_it_present(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("apt_install only installs as root")
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    # A stand-in apt-get: records its arguments; installing "good" puts the command on PATH.
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *" good") printf "#!/bin/sh\\n" > {bin_dir}/fakecmd; chmod +x {bin_dir}/fakecmd;; esac\n'
    )
    (bin_dir / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")  # ours first; chmod from the system
    assert machine.apt_install(lambda: shutil.which("fakecmd"), ("bad", "good", "never"))
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq --no-install-recommends bad", "install -y -qq --no-install-recommends good"]


def test_apt_get_that_installs_nothing_useful_leaves_it_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get, no command
    assert not machine.apt_install(lambda: shutil.which("fakecmd"), ("good",))
