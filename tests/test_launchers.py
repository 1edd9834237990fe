"""Launcher presets: a study through submitit_local, and the Slurm preset composes with a study."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import ARM, RUN_KEY
from conftest import CONF_DIR, run_cli
from test_study_sweeper import write_conf


def compose_hydra(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local", "submitit_slurm", "slurm"])
def test_every_launcher_preset_composes_with_the_seed_study(launcher):
    cfg = compose_hydra(["study=seed", f"hydra/launcher={launcher}"])
    assert cfg.hydra.runtime.choices["hydra/launcher"] == launcher
    assert cfg.hydra.sweeper._target_.endswith("AblationSweeper")


def test_slurm_preset_sets_resources_and_takes_a_partition():
    launcher = compose_hydra(["hydra/launcher=slurm", "hydra.launcher.partition=cpu"]).hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.cpus_per_task, launcher.mem_gb) == ("cpu", 4, 8)


@pytest.mark.slow
def test_study_through_submitit_local(store, workdir, monkeypatch):
    conf = write_conf(workdir, launcher="submitit_local", factors="{activation: [relu]}")
    code = run_cli(
        monkeypatch,
        f"--config-dir={conf}",
        "study=tiny",
        "study.seeds=[0]",
        "hydra.sweeper.report=false",
        f"hydra.sweep.dir={workdir / 'multirun'}",
    )
    assert code == 0
    client = MlflowClient(store)
    runs = search_all_runs(client, [client.get_experiment_by_name("tiny").experiment_id])
    children = {r.data.tags[ARM]: r for r in runs if RUN_KEY in r.data.tags}
    assert set(children) == {"baseline", "activation=relu"}
    assert {r.info.status for r in runs} == {"FINISHED"}  # the parent too
    assert all("test_accuracy" in r.data.metrics for r in children.values())
    # Each job ran in its own submitit process, with its logs in the sweep folder.
    assert len(list((workdir / "multirun" / ".submitit").glob("*/*_log.out"))) == 2
