"""The checks that need no TensorFlow: a key Hydra's '+' adds to a typed group, out-of-range
values and missing files are refused before TensorFlow is imported, naming where the value
came from (the command line, or which option file)."""

from __future__ import annotations

import pytest

from ablab.errors import ConfigError
from ablab.run.config_checks import check_config
from conftest import all_runs, compose_run, run_cli, sqlite_uri
from test_help import probe


def test_a_key_added_to_a_typed_group_is_refused_with_the_key_it_meant(workdir, monkeypatch, capsys):
    """Hydra refuses trainer.epoch=1 and hints '+trainer.epoch=1', which it then accepts: the
    run would train 100 epochs, ignoring the key."""
    assert run_cli(monkeypatch, "+trainer.epoch=1") == 2
    err = capsys.readouterr().err
    assert "trainer.epoch=1 (from the command line) is not a key of the trainer group" in err
    assert "Did you mean trainer.epochs?" in err
    assert all_runs(sqlite_uri(workdir)) == []  # nothing trained, nothing logged


@pytest.mark.parametrize(
    ("override", "accepted"),
    [
        ("+trainer.epoch=1", False),
        ("+optimizer.momentum=0.9", False),  # optimizer arguments go in optimizer.args
        ("+regularization.droput=0.1", False),
        ("+initializer.args.seed=1", True),  # an open node: Keras' own arguments
        ("+model.width=8", True),  # a builder's own argument
        ("+dataset.extra=1", True),  # a loader's own argument
        ("+tracking.parent_run_id=abc", True),  # the study sweeper's bookkeeping
    ],
)
def test_only_open_nodes_take_new_keys(override, accepted):
    cfg, choices = compose_run([override])
    if accepted:
        check_config(cfg, choices, [override])
    else:
        with pytest.raises(ConfigError, match="is not a key of the"):
            check_config(cfg, choices, [override])


def test_a_value_is_said_to_come_from_the_command_line_or_from_its_option_file():
    overrides = ["optimizer.learning_rate=-0.01", "dataset=npz", "dataset.path=/no/such.npz"]
    cfg, choices = compose_run(overrides)
    with pytest.raises(ConfigError) as raised:
        check_config(cfg, choices, overrides)
    message = str(raised.value)
    assert "optimizer.learning_rate=-0.01 (from the command line) is out of range" in message
    assert "dataset.path='/no/such.npz' (from the command line) does not exist" in message
    cfg, choices = compose_run(["dataset=npz"])
    with pytest.raises(ConfigError, match=r"dataset.path \(from conf/dataset/npz.yaml\) must be set"):
        check_config(cfg, choices, ["dataset=npz"])


@pytest.mark.parametrize(
    "argv", [["optimizer.learning_rate=-0.01"], ["+trainer.epoch=1"], ["dataset=npz", "dataset.path=/no.npz"]]
)
def test_a_bad_value_is_refused_before_tensorflow_is_imported(argv, tmp_path):
    loaded, result = probe(argv, tmp_path)
    imported = [module for module in ("tensorflow", "keras", "mlflow") if loaded[module]]
    assert (loaded["code"], imported) == (2, [])
    assert "Invalid config:" in result.stderr
