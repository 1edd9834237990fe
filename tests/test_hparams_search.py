"""HPO beside ablation: an Optuna search (conf/hparams_search/) whose trials are ordinary runs."""

from __future__ import annotations

from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from ablab.config.run_key import run_key
from ablab.tracking.tags import SEARCH
from conftest import compose_run, run_cli


def test_optuna_search_logs_every_trial_and_returns_the_objective(store, workdir, monkeypatch):
    code = run_cli(
        monkeypatch,
        "hparams_search=adam_lr_width",
        "hydra.sweeper.n_trials=2",
        "trainer.epochs=1",
        "trainer.verbose=0",
        "model.hidden_units=[8]",  # fixed on the command line: only the learning rate is searched
        f"hydra.sweep.dir={workdir / 'search'}",
    )
    assert code == 0

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("hpo_adam_lr_width")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags[SEARCH] for r in runs} == {"adam_lr_width"}
    for run in runs:
        params = run.data.params
        assert (params["initializer.name"], params["activation.name"], params["optimizer.name"]) == (
            "he_normal",
            "relu",
            "adam",
        )
        assert params["model.hidden_units"] == "[8]" and run.data.tags["objective"] == "test_accuracy"
        assert 1e-4 <= float(params["optimizer.learning_rate"]) <= 3e-2
    assert len({r.data.params["optimizer.learning_rate"] for r in runs}) == 2

    results = OmegaConf.load(workdir / "search" / "optimization_results.yaml")
    assert results.best_value == max(r.data.metrics["test_accuracy"] for r in runs)


def test_unknown_objective_stops_before_training(workdir, monkeypatch, capsys):
    assert run_cli(monkeypatch, "objective=accuracy", "trainer.epochs=1") == 2
    assert "objective='accuracy'" in capsys.readouterr().err
    assert not (workdir / "mlflow.db").exists()


def test_objective_does_not_change_the_run_key():
    plain, _ = compose_run()
    with_objective, _ = compose_run(["objective=test_loss"])
    assert run_key(plain) == run_key(with_objective)
