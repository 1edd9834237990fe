"""The ablab-train command: bad input stops before training with a clear error, runs land in
the store of the directory the command started in, multirun works with the basic launcher.

Most cases call the entrypoint in this process; the few subprocess tests pay for a fresh
TensorFlow import each and are kept to what needs a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from keras.src.backend.config import keras_home  # where keras.datasets caches its downloads

from ablab.tracking.tags import HYDRA_OVERRIDES
from conftest import all_runs, run_cli, sqlite_uri

TINY_CLI = ["trainer.epochs=1", "model.hidden_units=[8]"]


BAD_INPUT = {
    "wrong-type": (["trainer.epochs=abc"], ["trainer.epochs", "'abc'", "Integer"]),
    "epochs-0": (["trainer.epochs=0"], ["trainer.epochs=0", "allowed: an integer >= 1"]),
    "validation-split-1.5": (
        ["trainer.validation_split=1.5"],
        ["trainer.validation_split=1.5", "allowed: 0 <= validation_split < 1"],
    ),
    "negative-learning-rate": (
        ["optimizer=adam", "optimizer.learning_rate=-0.001"],
        ["optimizer.learning_rate=-0.001", "allowed: a number > 0"],
    ),
    "missing-local-file": (
        ["dataset=mnist", "dataset.path=/nonexistent.npz"],
        ["dataset.path='/nonexistent.npz'", "does not exist", "dataset=mnist_5k"],
    ),
    "loader-does-not-import": (
        ["dataset._target_=mypkg.nowhere.load"],
        [
            "dataset._target_='mypkg.nowhere.load' does not import: ModuleNotFoundError: No module named",
            "pip install -e .",
            "(from the command line)",  # not from conf/dataset/mnist_5k.yaml, the chosen option
        ],
    ),
    "table-without-path-and-label": (["dataset=table"], ["dataset.label, dataset.path", "must be set"]),
    "empty-npz": (["dataset=npz", "dataset.path={empty}"], ["dataset.path=", "is empty (0 bytes)"]),
    "objective-the-task-does-not-log": (
        ["dataset=diabetes", "objective=test_accuracy"],
        ["objective='test_accuracy'", "dataset.task='regression'", "allowed: test_loss, test_mse, test_mae"],
    ),
    "user-yaml-unknown-keras-name": (
        ["--config-dir", "{extra}", "activation=mishh"],
        ["activation.name='mishh'", "activation/mishh.yaml", "allowed:", "leaky_relu"],
    ),
}


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_stops_before_training(workdir, monkeypatch, capsys, args, fragments):
    extra = workdir / "extra"
    (extra / "activation").mkdir(parents=True)
    (extra / "activation" / "mishh.yaml").write_text("name: mishh\nargs: {}\n")
    (workdir / "empty.npz").write_bytes(b"")
    args = [arg.format(extra=extra, empty=workdir / "empty.npz") for arg in args]

    code = run_cli(monkeypatch, *args, f"hydra.run.dir={workdir}/outputs")

    out, err = capsys.readouterr()
    assert code == 2  # one exit code for every config error (docs/guide/configs.md)
    assert all(fragment in err for fragment in fragments), err
    assert "Epoch 1/" not in out  # Keras never started fitting
    assert all_runs(sqlite_uri(workdir)) == []


def test_offline_keras_download_says_how_to_get_around_it(workdir, monkeypatch, capsys):
    cached = Path(keras_home()) / "datasets" / "mnist.npz"
    if cached.exists():
        pytest.skip(f"{cached} is cached, so keras.datasets.mnist does not need to download")
    # A closed local port as proxy makes the download fail for real even where internet works.
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urllib reads proxies when it builds this

    code = run_cli(monkeypatch, "dataset=mnist", f"hydra.run.dir={workdir}/outputs")

    out, err = capsys.readouterr()
    assert code != 0
    assert "keras.datasets.mnist.load_data() failed" in err
    assert "dataset.path=/path/to/mnist.npz" in err and "dataset=mnist_5k" in err
    assert "Epoch 1/" not in out
    assert all_runs(sqlite_uri(workdir)) == []
    assert not cached.exists()


def cli_env():
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HYDRA_FULL_ERROR")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def ablab_train():
    script = Path(sys.executable).with_name("ablab-train")
    if not script.exists():
        pytest.skip(f"ablab-train is not installed next to {sys.executable}")
    return str(script)


@pytest.mark.parametrize(
    "args",
    [
        ["trainer.epoch=1"],  # Hydra: not in the schema
        ["trainer.epochs=abc"],  # Hydra: not an int
        ["activation=nosuch"],  # Hydra: no such option
        ["trainer.epochs=["],  # Hydra: the override does not parse
        ["optimizer.learning_rate=-1"],  # ablab: out of range
    ],
)
def test_every_config_error_exits_2(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, *args) == 2
    assert capsys.readouterr().err  # and says why


def test_unknown_group_option_fails_with_hydras_list_of_options(tmp_path):
    # Also checks `python -m ablab.cli.train` reaches Hydra's composition.
    result = subprocess.run(
        [sys.executable, "-m", "ablab.cli.train", "optimizer=adamm"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2  # Hydra's config errors exit as ablab's do
    assert "Could not find 'optimizer/adamm'" in result.stderr
    assert "sgd_momentum" in result.stderr and "\tadam\n" in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_run_then_multirun_log_three_finished_runs_where_started(tmp_path):
    def ablab(*args):
        result = subprocess.run(
            [ablab_train(), *args],
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    ablab(*TINY_CLI)
    ablab("-m", "activation=sigmoid,relu", *TINY_CLI, f"hydra.sweep.dir={tmp_path}/multirun")

    runs = all_runs(sqlite_uri(tmp_path))
    assert [run.info.status for run in runs] == ["FINISHED"] * 3
    assert sorted(run.data.tags["activation"] for run in runs) == ["relu", "sigmoid", "sigmoid"]
    assert {run.data.tags[HYDRA_OVERRIDES] for run in runs} == {
        " ".join(TINY_CLI),
        " ".join(["activation=sigmoid", *TINY_CLI]),
        " ".join(["activation=relu", *TINY_CLI]),
    }
    assert all(run.data.metrics["param_count"] == 784 * 8 + 8 + 90 for run in runs)
    assert all(run.data.params["trainer.epochs"] == "1" for run in runs)
    # Hydra's job outputs go to the sweep folder; MLflow's artifacts stay next to the store.
    assert sorted(p.name for p in (tmp_path / "multirun").iterdir() if p.is_dir()) == ["0", "1"]
    assert all(Path(run.info.artifact_uri).is_relative_to(tmp_path) for run in runs)


@pytest.mark.parametrize(
    "ending, code, message",
    [
        ("pass", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('ablab-train: stopped')", 1, "ablab-train: stopped"),
    ],
)
def test_the_command_ends_with_its_exit_code_after_threads_and_exit_handlers(tmp_path, ending, code, message):
    """``ablab-train`` skips Python's slow teardown, never what a normal exit does first: that
    includes ending the idle workers of a thread pool nobody shut down (MLflow's artifact
    downloads leave such pools behind)."""
    script = f"""
import atexit, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from ablab.cli.startup import end_without_teardown

def entry():
    atexit.register(lambda: Path({str(tmp_path / "handler")!r}).write_text("ran"))
    def late():
        time.sleep(0.3)
        Path({str(tmp_path / "thread")!r}).write_text("joined")
    threading.Thread(target=late).start()
    global pool
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(time.sleep, 0).result()
    {ending}

end_without_teardown(entry)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert (tmp_path / "handler").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "joined"
