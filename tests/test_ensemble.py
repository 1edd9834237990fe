"""Soft-voting ensembles: the vote and member seeds, and a tiny real ensemble run in MLflow."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from ablab.cli.train import train
from ablab.run.ensemble import Member, member_metrics, member_seeds, run_metrics, soft_vote
from ablab.tracking.tags import MEMBER_SEEDS
from conftest import all_runs, compose_run, sqlite_uri

TINY_PARAMS = 784 * 8 + 8 + 8 * 10 + 10  # one Dense(8) hidden layer, Dense(10) head
TINY_ENSEMBLE = [
    "trainer.epochs=1",
    "model.hidden_units=[8]",
    "trainer.verbose=0",
    "trainer.batch_size=128",
    "ensemble.size=3",
]


def member(probabilities, accuracy=0.5, loss=1.0, val_accuracy=0.4):
    return Member(
        seed=0,
        test={"test_loss": loss, "test_accuracy": accuracy},
        val_accuracy=val_accuracy,
        train_seconds=2.0,
        param_count=100,
        probabilities=np.asarray(probabilities, dtype=np.float32),
    )


def test_member_zero_is_the_single_model_and_replicates_share_no_member():
    assert member_seeds(7, 1) == [7]
    replicates = [member_seeds(seed, 3) for seed in (0, 1, 2)]
    assert [seeds[0] for seeds in replicates] == [0, 1, 2]
    everyone = [s for seeds in replicates for s in seeds]
    assert len(set(everyone)) == len(everyone)


def test_soft_vote_averages_probabilities_and_can_beat_every_member():
    y_test = np.eye(2, dtype=np.float32)[[0, 1, 0]]
    # Each member is confidently wrong on one image; the average is right on all three.
    members = [
        member([[0.9, 0.1], [0.4, 0.6], [0.4, 0.6]], accuracy=2 / 3),
        member([[0.4, 0.6], [0.1, 0.9], [0.9, 0.1]], accuracy=2 / 3),
        member([[0.9, 0.1], [0.6, 0.4], [0.9, 0.1]], accuracy=2 / 3),
    ]
    np.testing.assert_allclose(soft_vote([m.probabilities for m in members])[0], [2.2 / 3, 0.8 / 3])
    metrics = run_metrics(members, y_test)
    assert metrics["test_accuracy"] == 1.0
    expected_loss = -np.mean(np.log([2.2 / 3, 1.9 / 3, 2.2 / 3]))
    assert metrics["test_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert metrics["param_count"] == 300 and metrics["train_seconds"] == 6.0


def test_a_single_model_keeps_its_own_keras_scores_and_logs_no_member_metrics():
    single = member(None, accuracy=0.75, loss=0.5)
    assert run_metrics([single], np.zeros((3, 2)))["test_accuracy"] == 0.75
    assert run_metrics([single], np.zeros((3, 2)))["test_loss"] == 0.5
    assert member_metrics([single]) == []


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, blank_store):
    """An ensemble of 3 tiny members and the single model of the same seed, in one real store."""
    directory = tmp_path_factory.mktemp("ensemble")
    shutil.copy(blank_store, directory / "mlflow.db")
    uri = sqlite_uri(directory)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)  # MLflow puts artifacts under ./mlruns
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for overrides in (TINY_ENSEMBLE, TINY_ENSEMBLE[:-1]):
            cfg, choices = compose_run([*overrides, f"tracking.uri={uri}"])
            train(cfg, choices=choices, base_dir=directory)
    runs = {run.data.params["ensemble.size"]: run for run in all_runs(uri)}
    return MlflowClient(uri), runs["3"], runs["1"], directory


@pytest.mark.slow
def test_ensemble_logs_one_ensemble_accuracy_and_each_members_own(ensemble_run):
    client, ensemble, single, _ = ensemble_run
    assert ensemble.info.status == "FINISHED"
    run_id = ensemble.info.run_id
    history = client.get_metric_history(run_id, "member_test_accuracy")
    assert sorted(m.step for m in history) == [0, 1, 2]
    for key in ("member_test_loss", "member_val_accuracy", "member_train_seconds"):
        assert sorted(m.step for m in client.get_metric_history(run_id, key)) == [0, 1, 2], key
    assert [m.step for m in client.get_metric_history(run_id, "test_accuracy")] == [0]
    assert 0.0 <= ensemble.data.metrics["test_accuracy"] <= 1.0
    assert ensemble.data.metrics["param_count"] == 3 * TINY_PARAMS
    assert ensemble.data.tags["ensemble"] == "none"  # the group file; ensemble.size overridden
    assert ensemble.data.tags[MEMBER_SEEDS] == "0,1000,2000"
    # Member 0 is the single model of the same seed, and its curves are the run's.
    by_step = {m.step: m.value for m in history}
    assert by_step[0] == single.data.metrics["test_accuracy"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        curve = client.get_metric_history(run_id, key)
        assert [(m.step, m.value) for m in curve] == [(1, single.data.metrics[key])], key
    assert "member_test_accuracy" not in single.data.metrics


@pytest.mark.slow
def test_ensemble_summary_names_the_members_and_the_total(ensemble_run):
    client, ensemble, _, directory = ensemble_run
    path = client.download_artifacts(ensemble.info.run_id, "model_summary.txt", str(directory))
    text = (directory / path).read_text()
    assert text.startswith("Soft-voting ensemble of 3 members")
    assert "seeds 0, 1000, 2000" in text
    assert f"3 x {TINY_PARAMS:,} = {3 * TINY_PARAMS:,}" in text
