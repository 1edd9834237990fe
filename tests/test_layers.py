"""The package's layers point down (pyproject.toml's [tool.importlinter] contract), and the
contract does catch an upward import: it is checked on a copy of the package that has one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint(package_parent: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the project's contract on the ``ablab`` found in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    command = [LINT_IMPORTS, str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_every_layer_imports_only_from_the_layers_below():
    done = lint(ROOT / "src")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    copy = tmp_path / "ablab"
    shutil.copytree(ROOT / "src" / "ablab", copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "stats" / "comparisons.py").open("a") as module:
        module.write("\n\ndef _upward():\n    from ablab.report.make import make_report  # noqa: F401\n")
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "ablab.stats is not allowed to import ablab.report" in done.stdout
    assert "ablab.stats.comparisons -> ablab.report.make" in done.stdout
