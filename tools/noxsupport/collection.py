# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection copy under .build/collections, where ansible-test, ansible-lint and the tests run.

ansible-test runs only inside ``.../ansible_collections/<namespace>/<name>/`` and resolves symlinks,
so the work tree is copied there, not linked. The copy has an empty git repository of its own:
ansible-test and ansible-lint look for ``.git`` upwards and would otherwise find the work tree's,
where ``.build/`` is ignored, and see no files at all. In an empty repository every file the
copied ``.gitignore`` does not ignore is "untracked": exactly the collection.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / ".build" / "collections"  # ANSIBLE_COLLECTIONS_PATH of the sessions
COPY = ROOT / "ansible_collections" / "ctcloud" / "cloud"
# Paths of the copy that are not the work tree's and survive a sync: its git repository,
# ansible-test's output, and the integration config the integration session writes.
KEEP = (".git", "tests/output", "tests/integration/integration_config.yml")
# Without git (an unpacked tarball), the walk skips what .gitignore lists.
SKIP_DIRS = {".git", ".build", ".nox", ".cache", ".pytest_cache", ".ruff_cache", ".ansible", "__pycache__", "context"}
OUTPUT_DIRS = ("tests/output", "tests/benchmark/results")


def source_files() -> list[str]:
    """The work tree's files: tracked and untracked-but-not-ignored, so a new file is tested before it is committed."""
    if (REPO / ".git").exists():
        done = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                              capture_output=True, check=True)
        return sorted(name for name in done.stdout.decode().split("\0") if name and os.path.lexists(REPO / name))
    found = []
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".venv")
                   and os.path.relpath(os.path.join(top, d), REPO) not in OUTPUT_DIRS]
        found += [os.path.relpath(os.path.join(top, f), REPO) for f in files if not f.endswith((".pyc", ".tar.gz"))]
    return sorted(found)


def _kept(relative: str) -> bool:
    return any(relative == keep or relative.startswith(keep + "/") for keep in KEEP)


def sync() -> Path:
    """Make COPY an exact copy of the collection's files; unchanged files (size, mtime, mode) are not copied again."""
    COPY.mkdir(parents=True, exist_ok=True)
    if not (COPY / ".git").exists():
        subprocess.run(["git", "init", "-q", str(COPY)], check=True)
    wanted = set(source_files())
    for relative in wanted:
        src, dst = REPO / relative, COPY / relative
        if src.is_symlink() or not dst.is_file() or dst.is_symlink() or _stat(src) != _stat(dst):
            _remove(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst, follow_symlinks=False)
    for top, dirs, files in os.walk(COPY, topdown=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            relative = os.path.relpath(os.path.join(top, name), COPY)
            if relative not in wanted and not _kept(relative):
                os.unlink(os.path.join(top, name))
        if top != str(COPY) and not _kept(os.path.relpath(top, COPY)) and not os.listdir(top):
            os.rmdir(top)
    # What ansible-test and ansible-lint will see: without the modules, every check would pass on nothing.
    seen = subprocess.run(["git", "-C", str(COPY), "ls-files", "--others", "--exclude-standard", "plugins/modules"], capture_output=True, check=True)
    if not seen.stdout.strip():
        raise RuntimeError(f"git in {COPY} lists no plugins/modules: ansible-test would find nothing to test")
    return COPY


def _stat(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_mode


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
