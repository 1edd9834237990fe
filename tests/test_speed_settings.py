"""The speed settings are result-preserving: the fast path gives the slow path's numbers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.cli.train import train
from ablab.config.run_key import run_key
from conftest import TINY, all_runs, compose_run

ROOT = Path(__file__).resolve().parents[1]


def test_steps_per_execution_and_threads_change_speed_not_numbers(store):
    fast_cfg, choices = compose_run([*TINY, "activation=relu", "optimizer=adam", "trainer.epochs=3"])
    slow_cfg, _ = compose_run(
        [*TINY, "activation=relu", "optimizer=adam", "trainer.epochs=3", "trainer.steps_per_execution=1"]
    )
    assert fast_cfg.trainer.steps_per_execution == 32  # the default is the fast path
    fast = train(fast_cfg, choices)
    slow = train(slow_cfg, choices)
    assert fast["test_accuracy"] == slow["test_accuracy"]
    assert fast["test_loss"] == slow["test_loss"]
    client = MlflowClient(store)
    fast_run, slow_run = sorted(all_runs(store), key=lambda r: r.info.start_time)
    for key in ("loss", "val_accuracy"):
        fast_curve = [m.value for m in client.get_metric_history(fast_run.info.run_id, key)]
        slow_curve = [m.value for m in client.get_metric_history(slow_run.info.run_id, key)]
        assert fast_curve == slow_curve and len(fast_curve) == 3
    # Same result, same identity: a resumed study does not rerun a run for a speed setting.
    assert run_key(fast_cfg) == run_key(slow_cfg)


@pytest.mark.slow
def test_speed_benchmark_runs_at_tiny_size(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "study_speed.py"), "--epochs", "1", "--seeds", "0"]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    headings = ("== wall time ==", "a / this", "== engines: keras vs fused", "== framework overhead per run")
    for heading in (*headings, "== throughput =="):
        assert heading in result.stdout
    document = json.loads(out.read_text())  # benchmarks/results.py's format: tables + figures
    assert document["benchmark"] == "study_speed-seed-epochs1-seeds0" and document["tables"]
    figures = document["figures"]
    assert figures["runs"] == {"plain script": 4, "keras": 4, "fused": 4}
    assert figures["fused_arms_trained_by"] == dict.fromkeys(figures["accuracy"]["keras"], "fused")
    walls = figures["wall_s"]
    assert set(walls) == {"plain script", "keras", "fused"} and min(walls.values()) > 0
    # Same images, same seeds, same model: the plain script and the Keras engine agree run for run.
    assert figures["accuracy"]["keras"] == figures["accuracy"]["plain script"]
    assert [row["arm"] for row in figures["equivalence"]] == list(figures["accuracy"]["keras"])
    assert all(0 <= row["p_welch"] <= 1 for row in figures["equivalence"])
