"""The search's parent run in MLflow, in the search's experiment: its trials' runs are its
children, and it ends holding what the UI should show of the whole search: the settings, the best
trial (``best.*`` params), the importances (``importance.<evaluator>.<key>`` metrics, and
importances.csv) and optimization_results.yaml."""

from __future__ import annotations

from collections.abc import Mapping

from mlflow.tracking import MlflowClient

from ablab.search.results import SearchResults, importance_table, results_yaml
from ablab.search.settings import SearchSettings
from ablab.search.space import SearchSpace
from ablab.tracking.client import RunRecorder, start_run
from ablab.tracking.tags import ROLE, ROLE_SEARCH


def open_parent(
    client: MlflowClient,
    experiment_id: str,
    study_name: str,
    tags: Mapping[str, str],
    settings: SearchSettings,
    space: SearchSpace,
    objective: str,
) -> RunRecorder:
    """The parent run, RUNNING with its owner's heartbeat until the search ends (``tracking.client``);
    ``tags`` are the preset's (``ablab.search``), as its trials carry them."""
    recorder = start_run(client, experiment_id, f"search {study_name}", {**tags, ROLE: ROLE_SEARCH})
    sampler = settings.sampler
    recorder.log_params(
        {
            "objective": objective,
            "direction": settings.direction.value,
            "study_name": study_name,
            "sampler": sampler.name.name,
            "sampler.seed": str(sampler.seed),
            **{f"sampler.{key}": str(value) for key, value in sampler.options.items()},
            "n_trials": str(settings.n_trials),
            "n_jobs": str(settings.n_jobs),
            "max_failure_rate": str(settings.max_failure_rate),
            **{f"space.{key}": text for key, text in space.written.items()},
        }
    )
    return recorder


def record_results(recorder: RunRecorder, results: SearchResults) -> None:
    recorder.log_params({f"best.{key}": str(value) for key, value in results.best_params.items()})
    metrics = {"trials.complete": results.n_complete, "trials.failed": results.n_failed}
    if results.best_trial is not None:
        metrics |= {"best.trial": results.best_trial, f"best.{results.objective}": results.best_value}
    for evaluator, shares in results.importances.by_evaluator.items():
        metrics |= {f"importance.{evaluator}.{key}": share for key, share in shares.items()}
    recorder.log_metrics(metrics)
    recorder.log_text(results_yaml(results), "optimization_results.yaml")
    if results.importances.by_evaluator:
        recorder.log_text(importance_table(results.importances).to_csv(), "importances.csv")
