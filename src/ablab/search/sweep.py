"""A search, as the ``search`` Hydra sweeper runs it: check everything, open the Optuna study and
the MLflow parent run, then ask the sampler for ``n_jobs`` trials at a time, launch them through
the configured Hydra launcher and tell Optuna each one's objective; end with the best trial and
the parameter importances.

Each trial is an ordinary ablab run (``ablab.cli.train`` returns the final metric ``objective``
names), a child of the parent run, tagged with its trial number. A trial that fails (it
diverged) is told FAILED and the search goes on, until more than ``max_failure_rate`` of
``n_trials`` have failed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import SQLAlchemyError

from ablab._compat import job_error, quiet_hydra_launchers
from ablab.config.overrides import tracking_overrides
from ablab.config.tasks import final_metric_names, task_of
from ablab.errors import ConfigError, TrackingUnavailable
from ablab.search.parent_run import open_parent, record_results
from ablab.search.results import format_results, results_yaml, search_results, shown
from ablab.search.samplers import make_sampler
from ablab.search.settings import SearchSettings, check_settings
from ablab.search.space import SearchSpace, search_space
from ablab.tracking.client import ensure_experiment, fail_run, finish_run, resolve_tracking_uri
from ablab.tracking.server_check import uri_source
from ablab.tracking.store import prepare_store
from ablab.tracking.tags import TRIAL
from ablab.tracking.ui_links import open_command


class SearchSweep:
    """One search: the search sweeper's ``sweep`` hands its arguments to ``sweep``."""

    def __init__(self, config: DictConfig, launcher: Any) -> None:
        self.config = config  # the settings are config.hydra.sweeper, typed (ablab.search.settings)
        self.launcher = launcher

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        try:
            return self._sweep(arguments)
        except (ConfigError, TrackingUnavailable) as error:
            print(f"ablab-train: {error}", file=sys.stderr)
            raise SystemExit(2) from error

    def _sweep(self, arguments: list[str]) -> list[JobReturn]:
        config = self.config
        settings: SearchSettings = OmegaConf.to_object(config.hydra.sweeper)
        check_settings(settings)
        objective = _objective(config)
        space = search_space(settings.params, arguments)
        if not space.distributions:
            raise ConfigError(
                "the search has nothing to search: hydra.sweeper.params and the command line fix every "
                "key. Give one a space, e.g. 'optimizer.learning_rate=tag(log, interval(1e-4, 1e-1))'."
            )
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the search prints its own line per trial
        study = _open_study(settings, make_sampler(settings.sampler))
        tracking_uri = resolve_tracking_uri(config.tracking.uri, config.hydra.runtime.cwd)
        client = prepare_store(tracking_uri, uri_source(config.tracking.uri))
        experiment_id = ensure_experiment(client, config.tracking.experiment)
        tags = dict(config.tracking.tags)
        parent = open_parent(client, experiment_id, study.study_name, tags, settings, space, objective)
        print(
            f"Search {study.study_name!r}: {settings.n_trials} trials, {settings.n_jobs} at a time, "
            f"{settings.sampler.name.name} sampler (seed {settings.sampler.seed}), "
            f"{settings.direction.value} {objective} over {', '.join(space.distributions)}; "
            f"parent run {parent.run_id}",
            flush=True,
        )
        trial_tracking = TrialTracking(tracking_uri, parent.run_id, tags)
        try:
            returns, stopped = self._trials(study, space, settings, objective, trial_tracking)
            results = search_results(study, objective, list(space.distributions), settings.sampler.seed)
            results_file = Path(config.hydra.sweep.dir) / "optimization_results.yaml"
            results_file.parent.mkdir(parents=True, exist_ok=True)
            results_file.write_text(results_yaml(results))
            record_results(parent, results)
        except BaseException as error:  # Ctrl-C included: the parent ends KILLED or FAILED, never RUNNING
            fail_run(parent, error)
            raise
        print(format_results(results))
        print(
            f"  parent run  {parent.run_id} (experiment {config.tracking.experiment})\n"
            f"  results     {results_file}\n"
            f"  see runs    {open_command(tracking_uri, config.tracking.experiment, experiment_id)}"
        )
        if stopped:
            fail_run(parent, RuntimeError(stopped))
            print(f"ablab-train: {stopped}", file=sys.stderr)
            raise SystemExit(1)
        finish_run(parent)
        return returns

    def _trials(
        self,
        study: optuna.Study,
        space: SearchSpace,
        settings: SearchSettings,
        objective: str,
        trial_tracking: TrialTracking,
    ) -> tuple[list[JobReturn], str | None]:
        """Ask, launch, tell, ``n_jobs`` trials at a time; the jobs' results, and why the search
        stopped early (None when it ran every trial)."""
        allowed = int(settings.max_failure_rate * settings.n_trials)
        returns: list[JobReturn] = []
        failed = 0
        while len(returns) < settings.n_trials:
            batch = min(settings.n_jobs, settings.n_trials - len(returns))
            trials = [study.ask(space.distributions) for _ in range(batch)]
            overrides = [[*space.overrides(t.params), *trial_tracking.overrides(t.number)] for t in trials]
            try:
                with quiet_hydra_launchers():  # each trial's own line says what it tried
                    launched = self.launcher.launch(overrides, initial_job_idx=len(returns))
            except BaseException:  # a stored study must not keep these trials RUNNING
                for trial in trials:
                    study.tell(trial, state=TrialState.FAIL)
                raise
            for trial, result in zip(trials, launched, strict=True):
                value, error = _value(result)
                told = study.tell(trial, value, state=TrialState.FAIL if value is None else None)
                failed += told.state == TrialState.FAIL
                print(_trial_line(told, objective, error), flush=True)
            returns += launched
            if failed > allowed:
                return returns, (
                    f"the search stopped after {len(returns)} of {settings.n_trials} trials: {failed} "
                    f"failed, more than max_failure_rate={settings.max_failure_rate} of n_trials allows "
                    f"({allowed})."
                )
        return returns, None


def _objective(config: DictConfig) -> str:
    """The final metric each trial returns: set, and one the run's task logs."""
    allowed = final_metric_names(task_of(config))
    if config.get("objective") not in allowed:
        raise ConfigError(
            f"objective={config.get('objective')!r}: a search needs the final metric each trial returns "
            f"for dataset.task={task_of(config).name!r}; allowed: {', '.join(allowed)}."
        )
    return config.objective


def _open_study(settings: SearchSettings, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """A new Optuna study, or the stored one of ``study_name`` (it must go the same direction)."""
    where = f"hydra.sweeper.storage={settings.storage!r}"
    try:
        study = optuna.create_study(
            storage=settings.storage,
            sampler=sampler,
            study_name=settings.study_name,
            direction=settings.direction.value,
            load_if_exists=True,
        )
    except SQLAlchemyError as error:
        raise ConfigError(
            f"{where} cannot be opened ({str(error).splitlines()[0]}); allowed: null (in memory) or an "
            "Optuna storage URL, e.g. sqlite:///optuna.db."
        ) from error
    stored = study.direction.name.lower()
    if stored != settings.direction.value:
        raise ConfigError(
            f"{where} holds study {study.study_name!r}, which goes direction={stored}, not "
            f"hydra.sweeper.direction={settings.direction.value}; name another study_name."
        )
    return study


@dataclass(frozen=True)
class TrialTracking:
    """Where a trial logs: the parent's store, as the parent's child, with its tags and its number."""

    tracking_uri: str
    parent_run_id: str
    tags: dict[str, str]

    def overrides(self, number: int) -> list[str]:
        return tracking_overrides(self.tracking_uri, self.parent_run_id, {**self.tags, TRIAL: str(number)})


def _value(result: JobReturn) -> tuple[float | None, str]:
    """A launched trial's objective, or None and why."""
    if result.status != JobStatus.COMPLETED:
        return None, job_error(result)
    try:
        return float(result.return_value), ""
    except (TypeError, ValueError):
        return None, f"it returned {result.return_value!r}, not a number"


def _trial_line(trial: FrozenTrial, objective: str, error: str) -> str:
    params = "  ".join(f"{key}={shown(value)}" for key, value in trial.params.items())
    if trial.state == TrialState.COMPLETE:
        return f"Trial {trial.number} FINISHED  {objective} {trial.value:.4g}  {params}"
    reason = " ".join((error or f"{objective} is not a finite number").split())[:300]
    return f"Trial {trial.number} FAILED  {reason}  {params}"
