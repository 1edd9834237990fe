"""A run's key changes with what changes its result, and only with that."""

from __future__ import annotations

from ablab.config.run_key import run_key
from conftest import compose_run


def key(*overrides):
    return run_key(compose_run(list(overrides))[0])


def test_same_config_same_key():
    assert key("trainer.seed=1") == key("trainer.seed=1")


def test_result_settings_change_the_key():
    base = key()
    assert key("trainer.seed=1") != base
    assert key("optimizer=adam") != base
    assert key("optimizer.learning_rate=0.01") != base
    assert key("model.hidden_units=[8]") != base


def test_bookkeeping_does_not_change_the_key():
    base = key()
    assert key("trainer.verbose=0", "trainer.threads=1") == base
    assert key("tracking.uri=sqlite:////elsewhere/mlflow.db", "tracking.experiment=other") == base
