"""ablab as a user gets it: the built wheel, installed (not editable) into a fresh venv, run
from an empty folder: one training, a study with the user's own option, the example project."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import RUN_KEY

ROOT = Path(__file__).resolve().parents[1]
TINY = ["trainer.epochs=1", "trainer.verbose=0", "hydra/launcher=basic"]

USER_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
study:
  name: mine
  design: ofat
  seeds: [0, 1]
  baseline: {optimizer: sgd}
  factors: {optimizer: [lion]}
model: {hidden_units: [8]}
hydra:
  mode: MULTIRUN
"""


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTHONPATH")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new venv with ablab's wheel and the example project installed, not editable.

    Their dependencies come from this test environment's site-packages (a .pth line: no
    downloads, and that folder's own .pth files, this checkout's editable install among them,
    are not run), so the venv's ablab is the wheel's.
    """
    tmp = tmp_path_factory.mktemp("wheel")
    started = time.perf_counter()
    pip = [sys.executable, "-m", "pip", "--quiet"]
    run([*pip, "wheel", "--no-deps", "-w", str(tmp / "dist"), str(ROOT)], tmp)
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    [venv_site] = venv.glob("lib/python*/site-packages")
    (venv_site / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps"]
    run([*install, *map(str, (tmp / "dist").glob("ablab-*.whl"))], tmp)
    run([*install, str(ROOT / "examples")], tmp)
    print(f"wheel built and installed in {time.perf_counter() - started:.1f} s")
    return venv


def finished_study(folder: Path, study: str) -> list:
    """The study's child runs; asserts they all FINISHED and the report was written."""
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(study)
    runs = search_all_runs(client, [experiment.experiment_id])
    children = [r for r in runs if RUN_KEY in r.data.tags]
    assert children and all(r.info.status == "FINISHED" for r in children)
    assert list((folder / "reports" / study).glob("*/report.md")), f"no report for {study}"
    return children


@pytest.mark.slow
def test_the_installed_wheel_works_from_an_empty_folder(fresh_venv, tmp_path):
    bin_ = fresh_venv / "bin"
    where = run([str(bin_ / "python"), "-c", "import ablab, ablab_example; print(ablab.__file__)"], tmp_path)
    assert where.stdout.strip().startswith(str(fresh_venv))  # the wheel's ablab, not this checkout's

    started = time.perf_counter()
    single = tmp_path / "single"
    single.mkdir()
    run([str(bin_ / "ablab-train"), "model.hidden_units=[8]", *TINY], single)
    client = MlflowClient(f"sqlite:///{single / 'mlflow.db'}")
    (only,) = client.search_runs([client.get_experiment_by_name("ablab").experiment_id])
    assert only.info.status == "FINISHED"

    mine = tmp_path / "mine"
    for folder, name, text in (("optimizer", "lion", "name: lion\nlearning_rate: 0.0003\nargs: {}\n"),
                               ("study", "mine", USER_STUDY)):  # fmt: skip
        (mine / "conf" / folder).mkdir(parents=True)
        (mine / "conf" / folder / f"{name}.yaml").write_text(text)
    searchpath = run([str(bin_ / "ablab-train"), "--info", "searchpath"], mine).stdout
    assert f"file://{mine / 'conf'}" in searchpath
    run([str(bin_ / "ablab-train"), "study=mine", *TINY], mine)
    assert {r.data.tags["optimizer"] for r in finished_study(mine, "mine")} == {"sgd", "lion"}

    example = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "conf", example / "conf")  # the project's configs, not its code
    small_cnn = ["model.filters=[4]", "model.dense_units=8", "dataset.train_discard=0.9"]
    run([str(bin_ / "ablab-train"), "study=image", "study.seeds=[0,1]", *small_cnn, *TINY], example)
    assert len(finished_study(example, "example_image")) == 8
    run([str(bin_ / "ablab-train"), "study=tabular", "study.seeds=[0,1]", *TINY], example)
    tabular = finished_study(example, "example_tabular")
    assert len(tabular) == 8 and all("test_mse" in r.data.metrics for r in tabular)
    print(f"training, user study and example studies from the wheel: {time.perf_counter() - started:.1f} s")
