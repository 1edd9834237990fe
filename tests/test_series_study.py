"""The series presets: the tutorial's whole series as a ladder and as leave-one-out, planned from
conf/study/, and a tiny ``study=series`` run end to end on a fresh store."""

from __future__ import annotations

import shutil

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ablab.run.validation import validate
from ablab.study.design import plan_arms
from ablab.study.jobs import plan_jobs
from ablab.study.spec import read_study
from ablab.tracking.tags import ARM, CHANGED, ENGINE
from conftest import CONF_DIR, compose_run
from test_study_sweeper import ablab_train, client_for, study_runs

LADDER = [
    "baseline",
    "+initializer=he_normal",
    "+activation=relu",
    "+optimizer=adam",
    "+normalization=batchnorm",
    "+regularization=dropout",
    "+ensemble=soft_vote",
]
FULL = {
    "initializer": "he_normal",
    "activation": "relu",
    "optimizer": "adam",
    "normalization": "batchnorm",
    "regularization": "dropout",
    "ensemble": "soft_vote",
}


def group_options(key):
    return [path.stem for path in (CONF_DIR / key).glob("*.yaml")]


def plan(preset, *overrides):
    """The study's spec and arms, read from the preset as the sweeper reads them."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose(
            config_name="train", overrides=[f"study={preset}", *overrides], return_hydra_config=True
        )
    spec = read_study(config, group_options, [])
    return spec, plan_arms(spec.baseline, spec.factors, spec.design)


def test_series_is_the_tutorials_ladder_with_three_seeds():
    spec, arms = plan("series")
    assert (spec.name, spec.design, spec.seeds) == ("series", "ladder", [0, 1, 2])
    assert [arm.name for arm in arms] == LADDER
    assert arms[-1].settings == FULL
    assert list(arms[-2].changed) == list(FULL)[:-1]


def test_series_loo_reverts_each_step_of_the_full_configuration():
    spec, arms = plan("series_loo")
    assert (spec.name, spec.design, spec.seeds) == ("series_loo", "leave_one_out", [0, 1, 2])
    assert [arm.name for arm in arms] == ["all", *(f"all but {key}" for key in FULL)]
    assert arms[0].settings == FULL
    assert arms[-1].settings == {**FULL, "ensemble": "none"}


@pytest.mark.parametrize("preset", ["series", "series_loo"])
def test_every_arm_composes_validates_and_changes_only_its_steps(preset):
    spec, arms = plan(preset, "study.seeds=[0]")  # one seed: a job per arm to compose
    jobs = plan_jobs(spec, arms, [], lambda overrides: compose_run(overrides)[0])
    for job in jobs:
        validate(job.config)
    assert len({job.run_key for job in jobs}) == 7


def test_the_full_configuration_is_the_series_part_5():
    full, _ = compose_run(["study=series", *(f"{key}={value}" for key, value in FULL.items())])
    assert full.normalization.name == "BatchNormalization"
    assert (full.regularization.dropout, full.regularization.l2) == (0.2, 0.0)
    assert full.ensemble.size == 3
    assert (full.scaling.name, full.trainer.epochs) == ("none", 100)  # raw pixels, as the series


@pytest.mark.slow
def test_tiny_series_study_runs_end_to_end(tmp_path, blank_store):
    shutil.copytree(CONF_DIR, tmp_path / "conf")
    shutil.copy(blank_store, tmp_path / "mlflow.db")  # spares the seconds of a fresh store's setup
    result = ablab_train(
        tmp_path,
        "study=series",
        "trainer.epochs=1",
        "model.hidden_units=[8]",
        "trainer.verbose=0",
        "trainer.batch_size=128",
        "study.seeds=[0]",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.report=false",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "7 finished, 0 skipped" in result.stdout

    client = client_for(tmp_path)
    parents, children = study_runs(client, "series")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {c.info.status for c in children} == {"FINISHED"}
    runs = {c.data.tags[ARM]: c for c in children}
    assert sorted(runs) == sorted(LADDER)
    # The preset's fused engine trains every step, batch norm, dropout and the ensemble included.
    assert {run.data.tags[ENGINE] for run in runs.values()} == {"fused"}
    one_model = 784 * 8 + 8 + 8 * 10 + 10
    assert runs["baseline"].data.metrics["param_count"] == one_model
    assert runs["+normalization=batchnorm"].data.metrics["param_count"] == one_model + 4 * 8
    ensemble = runs["+ensemble=soft_vote"]
    assert ensemble.data.metrics["param_count"] == 3 * (one_model + 4 * 8)
    history = client.get_metric_history(ensemble.info.run_id, "member_test_accuracy")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert ensemble.data.tags[CHANGED] == ",".join(FULL)
