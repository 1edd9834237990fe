"""A plain multirun on the fused engine trains its runs in packs (hydra/launcher=packing)."""

from __future__ import annotations

import subprocess

import pytest
from mlflow.tracking import MlflowClient

from ablab.cli.startup import with_packing_launcher
from ablab.tracking.tags import ENGINE, HYDRA_OVERRIDES, PACK_SIZE
from conftest import all_runs, sqlite_uri
from test_cli import ablab_train, cli_env

TINY_FUSED = ["trainer.epochs=2", "model.hidden_units=[8]", "trainer.verbose=0", "trainer.engine=fused"]


def sweep(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ablab_train(), "-m", *args, f"hydra.sweep.dir={tmp_path}/multirun"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_fused_sweep_trains_in_one_pack_and_a_diverging_run_fails_alone(tmp_path):
    result = sweep(
        tmp_path, "trainer.seed=0,1", "optimizer.learning_rate=0.01,1.0e+30", "activation=relu", *TINY_FUSED
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]  # Hydra's multirun fails when a job failed
    assert "Fused engine: 4 runs in 1 pack(s) of 4" in output
    assert "PackFailed: Diverged: " in output and "loss became nan at epoch 1" in output
    # The console lists the four jobs asked for, not the one pack job that trains them.
    assert "#3 : trainer.seed=1 optimizer.learning_rate=1e+30 activation=relu" in output
    assert "+pack=" not in output
    # One Hydra job trained the four runs; each run is its own MLflow run, tagged as packed.
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir()) == ["0", "multirun.yaml", "packs"]
    runs = all_runs(sqlite_uri(tmp_path))
    assert len(runs) == 4 and {r.data.tags[PACK_SIZE] for r in runs} == {"4"}
    status = {
        (r.data.params["trainer.seed"], r.data.params["optimizer.learning_rate"]): r.info.status for r in runs
    }
    assert status == {
        ("0", "0.01"): "FINISHED",
        ("1", "0.01"): "FINISHED",
        ("0", "1e+30"): "FAILED",
        ("1", "1e+30"): "FAILED",
    }
    # Each run keeps the overrides of its own job, not the pack's.
    client = MlflowClient(sqlite_uri(tmp_path))
    for run in runs:
        overrides = run.data.tags[HYDRA_OVERRIDES].split()
        assert overrides[0] == f"trainer.seed={run.data.params['trainer.seed']}"
        assert not any(o.startswith("+pack") for o in overrides)
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == (
            [1, 2] if run.info.status == "FINISHED" else [1]
        )


@pytest.mark.slow
def test_a_keras_sweep_is_not_packed(tmp_path):
    result = sweep(tmp_path, "activation=relu,tanh", *TINY_FUSED[:-1])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Fused engine" not in result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir() if p.is_dir()) == ["0", "1"]
    assert {r.data.tags[ENGINE] for r in all_runs(sqlite_uri(tmp_path))} == {"keras"}


@pytest.mark.parametrize(
    ("argv", "packed"),
    [
        (["-m", "activation=relu,tanh"], True),
        (["--multirun", "trainer.engine=fused"], True),
        (["activation=relu"], False),  # a single run
        (["-m", "study=seed"], False),  # the study preset's launcher
        (["-m", "hparams_search=adam_lr_width"], False),
        (["-m", "hydra/launcher=joblib", "activation=relu,tanh"], False),  # the user's choice
    ],
)
def test_a_plain_multirun_launches_through_the_packing_launcher(argv, packed):
    expected = [*argv, "hydra/launcher=packing"] if packed else argv
    assert with_packing_launcher(argv) == expected
