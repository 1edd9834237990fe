"""What a run prints when it ends, and what it leaves in the Hydra job log."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.tags import DEVICE
from conftest import TINY, all_runs, sqlite_uri

ABLAB_TRAIN = str(Path(sys.executable).with_name("ablab-train"))


@pytest.mark.slow
def test_a_run_ends_with_its_summary_quietly_and_logs_it_to_train_log(store, workdir):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run(
        [ABLAB_TRAIN, *TINY, "hydra.run.dir=outputs/run"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = all_runs(store)
    metrics = run.data.metrics
    experiment = MlflowClient(store).get_experiment(run.info.experiment_id)

    summary = result.stdout[result.stdout.index("Run FINISHED") :]
    assert summary.splitlines()[0] == f"Run FINISHED: {run.info.run_name}"
    assert f"test_accuracy {metrics['test_accuracy']:.4g}" in summary
    assert f"test_loss {metrics['test_loss']:.4g}" in summary
    assert f"param_count {int(metrics['param_count']):,}" in summary  # a count in full: 6,370
    device = run.data.tags[DEVICE]  # what TensorFlow trained on, as a tag and in the summary
    assert device.startswith(("CPU (", "GPU: ")) and f"device      {device}" in summary
    assert f"run id      {run.info.run_id}" in summary
    assert f"experiment  ablab (id {experiment.experiment_id})" in summary
    assert f"store       {sqlite_uri(workdir)}" in summary
    command = re.search(r"see runs    (.+)", summary).group(1)
    assert shlex.split(command) == ["ablab-ui", "--tracking-uri", store, "--experiment", "ablab"]

    # TensorFlow's start-up notices (oneDNN, absl, cpu_feature_guard) are not shown.
    for noise in ("oneDNN", "absl::InitializeLog", "cpu_feature_guard"):
        assert noise not in result.stderr + result.stdout, noise
    # The job log holds the run's lines, with time and logger.
    log = (workdir / "outputs" / "run" / "train.log").read_text()
    assert "[ablab.cli.train][INFO] - Run FINISHED" in log and run.info.run_id in log


def test_counts_print_in_full_and_the_rest_to_four_digits():
    from ablab.tracking.run_summary import format_metrics

    line = format_metrics({"param_count": 47410.0, "test_accuracy": 0.91234, "train_seconds": 12.3456})
    assert line == "test_accuracy 0.9123   train_seconds 12.35   param_count 47,410"
