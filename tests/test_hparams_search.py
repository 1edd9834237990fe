"""HPO beside ablation: the search sweeper (conf/hparams_search/, ablab.search) on Optuna, whose
trials are ordinary runs, children of the search's parent run, and whose end holds the best trial
and the parameter importances."""

from __future__ import annotations

import optuna
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ablab.config.run_key import run_key
from ablab.errors import ConfigError
from ablab.search.importance import param_importances
from ablab.search.space import search_space
from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import ERROR, PARENT_RUN_ID, ROLE, ROLE_SEARCH, SEARCH, TRIAL
from conftest import CONF_DIR, all_runs, compose_run, run_cli

PRESET = CONF_DIR / "hparams_search" / "adam_lr_width.yaml"
TINY_SEARCH = ["hparams_search=adam_lr_width", "trainer.epochs=1", "trainer.verbose=0"]
WIDTHS = ["[64]", "[128]", "[128,64]", "[50,50,50,50]", "[256,128]"]  # the preset's, as Optuna's choices


def test_the_presets_space_is_optuna_distributions():
    params = OmegaConf.load(PRESET).hydra.sweeper.params
    space = search_space(params, [])
    assert space.distributions == {
        "optimizer.learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
        "model.hidden_units": CategoricalDistribution(WIDTHS),
    }
    assert space.written["optimizer.learning_rate"] == "tag(log, interval(1e-4, 3e-2))"
    assert space.fixed == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("interval(0, 1)", FloatDistribution(0.0, 1.0)),
        ("tag(log, interval(1e-5, 1e-1))", FloatDistribution(1e-5, 1e-1, log=True)),
        ("range(1, 5)", IntDistribution(1, 4)),  # the stop is left out, as in any Hydra sweep
        ("range(8, 65, 8)", IntDistribution(8, 64, step=8)),
        ("tag(log, range(1, 9))", IntDistribution(1, 8, log=True)),
        ("range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.4, step=0.1)),
        ("choice(adam, sgd)", CategoricalDistribution(["adam", "sgd"])),
        ("choice(32, 64)", CategoricalDistribution([32, 64])),
    ],
)
def test_each_sweep_of_the_override_grammar_is_its_optuna_distribution(written, expected):
    assert search_space({"key": written}, []).distributions == {"key": expected}


def test_the_command_line_fixes_or_replaces_a_keys_space_and_passes_the_rest():
    params = {"optimizer.learning_rate": "interval(1e-4, 1e-2)", "model.hidden_units": "choice([8], [16])"}
    arguments = ["model.hidden_units=[8]", "trainer.batch_size=choice(32, 64)", "+tracking.tags.x=1"]
    space = search_space(params, arguments)
    assert space.distributions == {
        "optimizer.learning_rate": FloatDistribution(1e-4, 1e-2),
        "trainer.batch_size": CategoricalDistribution([32, 64]),
    }
    assert space.fixed == ["model.hidden_units=[8]", "+tracking.tags.x=1"]
    trial = space.overrides({"optimizer.learning_rate": 0.001})
    assert trial == [*space.fixed, "optimizer.learning_rate=0.001"]


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("interval(1e-4)", "cannot be parsed (TypeError while evaluating 'interval(1e-4)'"),
        ("interval(1, 0)", "'key=interval(1, 0)' is not a search space: `low <= high` must hold"),
        ("tag(log, interval(0, 1))", "`low > 0` must hold for `log=True`"),
        ("tag(log, range(1, 9, 2))", "only accept step is 1 when `log` argument is True"),
        ("range(5, 1)", "range(5, 1, 1) has no values"),
        ("tag(log, choice(1, 2))", "the one search tag is log, on an interval(...) or a range(...)"),
        ("tag(grid, interval(0, 1))", "tags ['grid'] are not allowed here"),
        ("glob(*)", "is not a search space; allowed: choice(a, b, ...), range(start, stop[, step])"),
    ],
)
def test_a_malformed_space_names_the_key_the_value_and_what_is_allowed(written, said):
    with pytest.raises(ConfigError, match="^hydra.sweeper.params.key: ") as raised:
        search_space({"key": written}, [])
    assert said in str(raised.value)


@pytest.mark.parametrize(
    ("argument", "said"),
    [
        ("hydra.sweeper.sampler.name=grid", "Invalid value 'grid', expected one of [tpe, random, cmaes, qmc"),
        ("hydra.sweeper.direction=up", "Invalid value 'up', expected one of [minimize, maximize]"),
        ("+hydra.sweeper.sampler.options.startup=5", "do not suit TPESampler (sampler.name=tpe)"),
        ("hydra.sweeper.n_jobs=0", "hydra.sweeper.n_jobs=0 is out of range; allowed: an integer >= 1."),
        ("hydra.sweeper.max_failure_rate=2", "hydra.sweeper.max_failure_rate=2.0 is out of range"),
        ("objective=null", "objective=None: a search needs the final metric each trial returns"),
        ("optimizer.learning_rate=0.01 model.hidden_units=[8]", "the search has nothing to search"),
        ("hydra.sweeper.storage=nosuch", "hydra.sweeper.storage='nosuch' cannot be opened"),
    ],
)
def test_a_bad_search_setting_stops_before_any_trial_trains(store, monkeypatch, capsys, argument, said):
    assert run_cli(monkeypatch, *TINY_SEARCH, *argument.split()) == 2
    assert said in capsys.readouterr().err
    assert all_runs(store) == []


def test_importances_need_two_completed_trials_that_differ():
    space = {"x": FloatDistribution(0, 1), "y": CategoricalDistribution(["a", "b"])}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    first = study.ask(space)
    study.tell(first, 1.0)
    study.tell(study.ask(space), state=optuna.trial.TrialState.FAIL)
    assert param_importances(study, ["x", "y"], 0).notes == [
        "No parameter importances: 1 completed trial(s); they need 2 or more."
    ]
    study.tell(study.ask(space), 1.0)
    assert param_importances(study, ["x", "y"], 0).notes == [
        "No parameter importances: every completed trial scored 1.0."
    ]
    same = optuna.create_study()
    for value in (1.0, 2.0):
        study_trial = same.ask({"x": CategoricalDistribution(["only"])})
        same.tell(study_trial, value)
    assert param_importances(same, ["x"], 0).notes == [
        "No parameter importances: every completed trial had the same parameters."
    ]


@pytest.mark.slow
def test_the_preset_searches_and_ends_with_the_importances(store, workdir, monkeypatch, capsys):
    code = run_cli(
        monkeypatch,
        *TINY_SEARCH,
        "hydra.sweeper.n_trials=4",
        "hydra/launcher=joblib",
        "hydra.sweeper.n_jobs=2",  # two batches of two trials
        "model.hidden_units=choice([8], [16])",  # the preset's widths, narrowed on the command line
        f"hydra.sweep.dir={workdir / 'search'}",
    )
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "Search 'adam_lr_width': 4 trials, 2 at a time, tpe sampler (seed 0), maximize" in out

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("hpo_adam_lr_width")
    runs = search_all_runs(client, [experiment.experiment_id])
    [parent] = [r for r in runs if r.data.tags.get(ROLE) == ROLE_SEARCH]
    trials = sorted((r for r in runs if r is not parent), key=lambda r: int(r.data.tags[TRIAL]))
    assert [r.data.tags[TRIAL] for r in trials] == ["0", "1", "2", "3"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags[SEARCH] for r in runs} == {"adam_lr_width"}
    assert {r.data.tags[PARENT_RUN_ID] for r in trials} == {parent.info.run_id}
    for run in trials:
        params = run.data.params
        assert (params["initializer.name"], params["activation.name"], params["optimizer.name"]) == (
            "he_normal",
            "relu",
            "adam",
        )
        assert params["model.hidden_units"] in ("[8]", "[16]")
        assert run.data.tags["objective"] == "test_accuracy"
        assert 1e-4 <= float(params["optimizer.learning_rate"]) <= 3e-2
    assert len({r.data.params["optimizer.learning_rate"] for r in trials}) == 4

    # The best trial, in the sweep dir's file and on the parent run.
    results = OmegaConf.load(workdir / "search" / "optimization_results.yaml")
    best = max(trials, key=lambda r: r.data.metrics["test_accuracy"])
    assert results.best_value == best.data.metrics["test_accuracy"]
    assert results.best_trial == int(best.data.tags[TRIAL]) == parent.data.metrics["best.trial"]
    assert results.best_params["model.hidden_units"] == best.data.params["model.hidden_units"]
    assert parent.data.params["best.model.hidden_units"] == best.data.params["model.hidden_units"]
    assert parent.data.params["space.optimizer.learning_rate"] == "tag(log, interval(1e-4, 3e-2))"
    assert parent.data.metrics["best.test_accuracy"] == results.best_value

    # The importances: both evaluators, both keys, each summing to 1; printed, written and logged.
    keys = {"optimizer.learning_rate", "model.hidden_units"}
    for evaluator in ("fanova", "ped_anova"):
        shares = results.importances[evaluator]
        assert set(shares) == keys and sum(shares.values()) == pytest.approx(1.0)
        for key in keys:
            assert parent.data.metrics[f"importance.{evaluator}.{key}"] == pytest.approx(shares[key])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert artifacts == {"importances.csv", "optimization_results.yaml"}
    assert f"Best trial {results.best_trial}: test_accuracy {results.best_value:.4g}" in out
    table = out.split("Parameter importances")[1].splitlines()
    assert "fANOVA" in table[1] and "PED-ANOVA" in table[1]
    assert {line.split()[0] for line in table[2:4]} == keys


@pytest.mark.slow
def test_a_diverging_trial_fails_and_the_search_goes_on(store, workdir, monkeypatch, capsys):
    code = run_cli(
        monkeypatch,
        *TINY_SEARCH,
        "model.hidden_units=[8]",
        "optimizer.learning_rate=choice(1e-3, 1.0e+30)",  # 1e30 diverges at epoch 1
        "hydra.sweeper.sampler.name=random",
        "hydra.sweeper.sampler.seed=35",  # draws 1e-3, 1e30, 1e-3, 1e-3
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.max_failure_rate=0.25",  # one of four may fail
        f"hydra.sweep.dir={workdir / 'search'}",
    )
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    trials = {int(r.data.tags[TRIAL]): r for r in all_runs(store) if TRIAL in r.data.tags}
    status = {n: (r.info.status, r.data.params["optimizer.learning_rate"]) for n, r in trials.items()}
    finished = ("FINISHED", "0.001")
    assert status == {0: finished, 1: ("FAILED", "1e+30"), 2: finished, 3: finished}
    assert trials[1].data.tags[ERROR].startswith("Diverged: loss became nan at epoch 1")
    assert "Trial 1 FAILED  loss became nan at epoch 1" in out
    results = OmegaConf.load(workdir / "search" / "optimization_results.yaml")
    assert results.trials == {"complete": 3, "failed": 1}
    # The completed trials all had the same learning rate: nothing to attribute, said plainly.
    assert list(results.notes) == ["No parameter importances: every completed trial had the same parameters."]
    assert "No parameter importances: every completed trial had the same parameters." in out


@pytest.mark.slow
def test_more_failures_than_max_failure_rate_allows_stop_the_search(store, workdir, monkeypatch, capsys):
    code = run_cli(
        monkeypatch,
        *TINY_SEARCH,
        "model.hidden_units=[8]",
        "optimizer.learning_rate=choice(1.0e+30, 1.0e+31)",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.max_failure_rate=0.0",
        f"hydra.sweep.dir={workdir / 'search'}",
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "the search stopped after 1 of 4 trials: 1 failed, more than max_failure_rate=0.0" in captured.err
    assert "No best trial: none completed." in captured.out
    runs = all_runs(store)
    [parent] = [r for r in runs if r.data.tags.get(ROLE) == ROLE_SEARCH]
    assert parent.info.status == "FAILED"
    assert "the search stopped after 1 of 4 trials" in parent.data.tags[ERROR]
    assert [r.info.status for r in runs if r is not parent] == ["FAILED"]


@pytest.mark.slow
def test_a_stored_study_gets_a_later_searchs_trials(store, workdir, monkeypatch, capsys):
    storage = f"hydra.sweeper.storage=sqlite:///{workdir / 'optuna.db'}"
    search = [*TINY_SEARCH, "model.hidden_units=[8]", storage]
    assert run_cli(monkeypatch, *search, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={workdir / 'a'}") == 0
    assert run_cli(monkeypatch, *search, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={workdir / 'b'}") == 0
    results = OmegaConf.load(workdir / "b" / "optimization_results.yaml")
    assert results.trials == {"complete": 3, "failed": 0}
    assert sorted(int(r.data.tags[TRIAL]) for r in all_runs(store) if TRIAL in r.data.tags) == [0, 1, 2]
    capsys.readouterr()

    assert run_cli(monkeypatch, *search, "hydra.sweeper.direction=minimize") == 2
    assert "holds study 'adam_lr_width', which goes direction=maximize" in capsys.readouterr().err


def test_unknown_objective_stops_before_training(workdir, monkeypatch, capsys):
    assert run_cli(monkeypatch, "objective=accuracy", "trainer.epochs=1") == 2
    assert "objective='accuracy'" in capsys.readouterr().err
    assert not (workdir / "mlflow.db").exists()


def test_objective_does_not_change_the_run_key():
    plain, _ = compose_run()
    with_objective, _ = compose_run(["objective=test_loss"])
    assert run_key(plain) == run_key(with_objective)
