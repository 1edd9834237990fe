"""hydra/launcher=ray for real: a tiny study on a local Ray cluster, from the venv Ray needs of its own.

Part of the suite (ABLAB_TEST_RAY=0 skips it): creating the venv (`pip install -e '.[ray]'`)
took 148 s and the study 128 s on a busy 2-core machine. The venv is cached in $ABLAB_RAY_VENV
(default ~/.cache/ablab/ray-venv, outside the repository) and rebuilt when pyproject.toml or the
checkout it is installed from changes (an editable install points at one checkout).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.tags import OWNER_PID
from test_study_sweeper import study_runs, write_conf

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ABLAB_TEST_RAY") == "0",
        reason="ABLAB_TEST_RAY=0: the Ray launcher test (~5 min cold, a venv of its own) is skipped",
    ),
]


def ray_venv() -> Path:
    """The venv with ablab[ray], created on first use, recreated when pyproject.toml changed."""
    venv = Path(os.environ.get("ABLAB_RAY_VENV") or Path.home() / ".cache" / "ablab" / "ray-venv")
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + str(ROOT).encode()).hexdigest()
    if (venv / ".ablab-stamp").exists() and (venv / ".ablab-stamp").read_text() == stamp:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "-e", f"{ROOT}[ray]"]
    subprocess.run(pip, check=True, timeout=1200)
    (venv / ".ablab-stamp").write_text(stamp)
    return venv


def test_a_study_on_a_local_ray_cluster_finishes_every_run(tmp_path):
    venv = ray_venv()
    write_conf(tmp_path, launcher="ray", factors="{activation: [relu]}")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(
        [str(venv / "bin" / "ablab-train"), f"--config-dir={tmp_path / 'conf'}", "study=tiny",
         "hydra.sweeper.report=false", f"hydra.sweep.dir={tmp_path / 'multirun'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 finished, 0 skipped" in result.stdout
    parents, children = study_runs(MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}"))
    assert len(parents) == 1 and len(children) == 4
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    # Each run trained in a Ray worker, not in the launching process.
    assert {c.data.tags[OWNER_PID] for c in children} != {parents[0].data.tags[OWNER_PID]}
