"""``ablab-train --help`` teaches ablab; ``--help``, ``--cfg`` and ``--info`` never load TensorFlow.

Their speed is measured in benchmarks/cli_startup.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import CONF_DIR, run_cli

# What a user learns from --help: the groups' options, and one example per kind of command.
EXAMPLES = (
    "ablab-train trainer.epochs=5",
    "ablab-train -m activation=relu,tanh",
    "ablab-train study=seed ",
    "hydra.sweeper.dry_run=true",
    "ablab-report seed",
    "ablab-ui --experiment seed",
)


def test_help_says_what_ablab_does_lists_every_group_option_and_examples(monkeypatch, capsys):
    assert run_cli(monkeypatch, "--help", "optimizer=adam") == 0
    text = capsys.readouterr().out
    assert text.startswith("ablab-train: config-driven ablation studies.")
    assert "powered by Hydra" not in text
    for group in ("activation", "initializer", "optimizer", "dataset", "study", "tracking"):
        options = sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))
        assert f"{group}: {', '.join(options)}" in text, group
    assert all(example in text for example in EXAMPLES)
    assert "optimizer=adam" in text.split("Chosen now")[1]  # the overrides given are reflected


def test_printed_config_hides_the_sweepers_internals(monkeypatch, capsys):
    assert run_cli(monkeypatch, "--cfg", "job") == 0
    text = capsys.readouterr().out
    assert "trainer:" in text and "experiment: ablab" in text
    assert "pack" not in text and "parent_run_id" not in text


def probe(argv: list[str], cwd, imports: str = "") -> tuple[dict, subprocess.CompletedProcess]:
    """Run ``ablab-train ARGV`` in a fresh interpreter (then ``imports``); which of the backends
    (TensorFlow, JAX, PyTorch), Keras and MLflow it loaded, and its exit code."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['ablab-train', *{argv!r}]\n"
        "from ablab.cli.train import main\n"
        "code = 0\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        f"{imports}\n"
        "loaded = {m: m in sys.modules for m in ('tensorflow', 'keras', 'mlflow', 'jax', 'torch')}\n"
        "print(json.dumps({'code': code, **loaded}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result


@pytest.mark.parametrize("flag", [["--help"], ["--cfg", "job"], ["--info"]])
def test_help_cfg_and_info_never_import_tensorflow_or_mlflow(flag, tmp_path):
    loaded, result = probe(flag, tmp_path)
    loaded.pop("code")
    assert not any(loaded.values()), result.stderr[-2000:]  # no backend, no Keras, no MLflow
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "mlflow.db").exists()


def test_a_study_refused_while_planning_never_imports_tensorflow(tmp_path):
    """Reading the study, planning its arms and checking the store come before TensorFlow: only
    validation (building each arm's model) imports it, once the study is sound."""
    planning = (
        "import ablab.run.engines.fused.pack_file, ablab.run.engines.fused.support, ablab.study.jobs, "
        "ablab.study.packing"
    )
    loaded, result = probe(["study=seed", "study.factors.activation=[nosuch]"], tmp_path, planning)
    assert (loaded["code"], loaded["tensorflow"], loaded["keras"]) == (2, False, False), result.stderr[-2000:]
    assert "option(s) ['nosuch'] not found in conf/activation/" in result.stderr
