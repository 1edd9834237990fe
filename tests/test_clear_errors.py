"""Fast, one-paragraph errors (exit 2, nothing left RUNNING) instead of retries and tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from ablab.cli.report import main as report_main
from ablab.tracking.client import ensure_experiment, start_run
from ablab.tracking.record import run_name
from ablab.tracking.server_check import WAIT_ENV
from ablab.tracking.tags import ARM, ERROR
from conftest import TINY, all_runs, compose_run, recorded_run, run_cli
from test_server_check import closed_port, http_server  # noqa: F401 - the fixture
from test_study_sweeper import ABLAB_TRAIN, write_conf


def report(capsys, *args: str) -> tuple[int, str]:
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        report_main(list(args))
    assert time.monotonic() - started < 15  # seconds, not MLflow's minutes of retries
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1  # one paragraph
    return exit_.value.code, err


def test_report_on_a_dead_server_or_a_non_mlflow_one_says_so_at_once(
    capsys,
    monkeypatch,
    workdir,
    http_server,  # noqa: F811
):
    monkeypatch.setenv(WAIT_ENV, "1")
    dead = f"http://127.0.0.1:{closed_port()}"
    code, err = report(capsys, "--tracking-uri", dead)
    assert code == 2 and f"{dead} (set by --tracking-uri) is not reachable" in err
    assert "No report was written" in err and "scripts/mlflow-server start" in err

    uri, status = http_server
    status[:] = [200, 404]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, err = report(capsys)
    assert code == 2 and "(set by $MLFLOW_TRACKING_URI)" in err
    assert "not as an MLflow tracking server (HTTP 404" in err


def test_an_empty_run_id_is_refused_not_read_as_the_latest_launch(capsys, store):
    code, err = report(capsys, "--run-id", "")
    assert code == 2 and "--run-id is empty" in err


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder nobody can write: a read-only tmpfs as root (root ignores modes), else mode 555."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs as root: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.slow
def test_read_only_working_directory_single_run_and_study(tmp_path, read_only_folder):
    conf = f"--config-dir={write_conf(tmp_path)}"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    options = {"cwd": read_only_folder, "capture_output": True, "text": True, "timeout": 300, "env": env}
    for args in (["trainer.epochs=1"], [conf, "study=tiny"]):
        started = time.monotonic()
        result = subprocess.run([ABLAB_TRAIN, *args], **options)
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"the working directory {read_only_folder} is read-only" in result.stderr
        assert "hydra.sweep.dir=" in result.stderr and "Traceback" not in result.stderr
        assert time.monotonic() - started < 60
    # Outputs sent elsewhere, but the store still defaults to the read-only folder.
    moved = [
        ["trainer.epochs=1", f"hydra.run.dir={tmp_path / 'run'}"],
        [conf, "study=tiny", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
    ]
    for args in moved:
        result = subprocess.run([ABLAB_TRAIN, *args], **options)
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"its folder {read_only_folder} is read-only" in result.stderr
        assert "Traceback" not in result.stderr and "Nothing was trained or logged" in result.stderr


def test_help_piped_into_head_ends_without_a_broken_pipe_traceback(tmp_path):
    process = subprocess.Popen(
        [ABLAB_TRAIN, "--help"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    process.stdout.close()  # the reader is gone before the help is printed, as `| head` does
    err = process.stderr.read()
    process.wait(timeout=120)
    assert "BrokenPipeError" not in err and "Traceback" not in err


def test_run_names_show_what_the_command_line_changed():
    cfg, choices = compose_run()
    tags = dict(choices)
    overrides = ["model.hidden_units=[]", "trainer.seed=0", "tracking.uri=x", "activation=sigmoid"]
    assert run_name(cfg, tags, overrides) == "random_uniform-sigmoid-sgd model.hidden_units=[] seed=0"
    assert run_name(cfg, tags, []) == "random_uniform-sigmoid-sgd seed=0"
    assert run_name(cfg, {**tags, ARM: "activation=relu"}, overrides) == "activation=relu seed=0"


def test_a_run_without_hidden_layers_is_named_so(monkeypatch, store, capsys):
    assert run_cli(monkeypatch, *TINY[:1], "trainer.verbose=0", "model.hidden_units=[]") == 0
    (run,) = all_runs(store)
    assert run.info.run_name == "random_uniform-sigmoid-sgd trainer.epochs=2 model.hidden_units=[] seed=0"


def test_a_failure_while_recording_a_failure_never_replaces_it(store, workdir):
    client = MlflowClient(store)
    experiment_id = ensure_experiment(client, "e")
    original = RuntimeError("the real problem")
    with pytest.raises(RuntimeError) as raised:
        with recorded_run(client, experiment_id, "r", {}) as recorder:
            recorder.log_epoch(1, {"../not a valid metric name": 1.0})  # its flush will fail
            raise original
    assert raised.value is original
    (run,) = all_runs(store)
    assert run.info.status == "FAILED" and run.data.tags[ERROR] == "RuntimeError: the real problem"


def test_every_run_of_a_failing_pack_ends_even_when_one_cannot_record_why(store):
    """ablab.run.pipeline fails a pack's runs one by one: one that cannot flush must not stop the rest."""
    from ablab.tracking.client import fail_run

    client = MlflowClient(store)
    experiment_id = ensure_experiment(client, "pack")
    recorders = [start_run(client, experiment_id, f"member {i}", {}) for i in range(3)]
    recorders[0].log_epoch(1, {"../broken": 1.0})
    for recorder in recorders:
        fail_run(recorder, RuntimeError("pack failed"))
    assert [client.get_run(r.run_id).info.status for r in recorders] == ["FAILED"] * 3


def test_python_m_report_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "ablab.cli.report", "--run-id", ""],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "--run-id is empty" in result.stderr
