"""The training entrypoint: config -> data -> model -> fit -> evaluate -> MLflow.

``train(cfg)`` is the plain function tests call; ``main`` is the thin ``@hydra.main`` wrapper
behind the ``ablab-train`` command. ``trainer.engine`` picks who trains: Keras ``fit``
(``ablab.run.engines.keras``) or the fused engine (``ablab.run.engines.fused``); both record runs alike.

Only Hydra and OmegaConf are imported at the top: ``--help``, ``--cfg`` and ``--info`` answer
without loading a Keras backend or MLflow, which the functions below import when they train.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ablab.cli.startup import (
    config_errors_exit_2,
    end_without_teardown,
    quiet_on_broken_pipe,
    read_only_working_directory,
    with_packing_launcher,
)
from ablab.config.packaged import (
    CONFIG_DIR,  # user conf/ folders layer over it: hydra_plugins.ablab_searchpath
)
from ablab.config.schema import register_schemas
from ablab.config.tasks import final_metric_names, task_of
from ablab.errors import ConfigError, DatasetUnavailable, Diverged, TrackingUnavailable
from ablab.run.backends import use_backend
from ablab.run.orphans import exit_with_launcher, mark_launcher
from ablab.run.runtime import configure_threads, quiet_console
from ablab.tracking.launch import new_launch

log = logging.getLogger(__name__)


def train(
    cfg: DictConfig,
    choices: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    base_dir: str | Path = ".",
) -> dict[str, float]:
    """Train one run as configured and log it to MLflow; returns the final metrics.

    Raises ConfigError / DatasetUnavailable / TrackingUnavailable before anything is written
    to MLflow. Ends by logging the run summary (metrics, run id, store, how to open the UI).
    """
    from ablab.run.config_checks import check_config

    check_config(cfg, choices, overrides)  # a bad value is refused before the backend loads
    use_backend(cfg.trainer.backend)  # before the modules that import Keras
    from ablab.run.pipeline import train_runs
    from ablab.run.request import RunRequest
    from ablab.run.validation import validate

    # Thread pools first: the backend fixes them at its first use, which validation can trigger.
    threads = configure_threads(cfg.trainer.threads)
    request = RunRequest(cfg, dict(choices or {}), list(overrides))
    validate(cfg, request.choices, request.overrides)
    [outcome] = train_runs([request], Path(base_dir), threads)
    if outcome.error is not None:
        raise outcome.error
    _log_summary(cfg, base_dir, outcome.run_id)
    return outcome.metrics


def train_pack_job(cfg: DictConfig, base_dir: str | Path) -> dict[str, dict]:
    """A fused pack job (a study's, or a plain sweep's ``hydra/launcher=packing``): train the
    pack file ``cfg.pack``.

    Returns by run key its ``error`` ("" when the run FINISHED) and final ``metrics`` (None when
    it failed), for the launcher to hand back per run.
    """
    use_backend(cfg.trainer.backend)  # before the modules that import Keras (a pack has one backend)
    from ablab.run.engines.fused.pack_file import read_pack
    from ablab.run.pipeline import train_runs
    from ablab.tracking.client import error_summary

    threads = configure_threads(cfg.trainer.threads)
    requests = read_pack(cfg.pack)
    outcomes = train_runs(requests, Path(base_dir), threads)
    for request, outcome in zip(requests, outcomes, strict=True):
        if outcome.run_id is not None:
            _log_summary(request.config, base_dir, outcome.run_id)
    return {
        o.run_key: {"error": error_summary(o.error) if o.error else "", "metrics": o.metrics}
        for o in outcomes
    }


def _log_summary(cfg: DictConfig, base_dir: str | Path, run_id: str) -> None:
    from ablab.tracking.client import resolve_tracking_uri
    from ablab.tracking.run_summary import run_summary

    log.info(run_summary(resolve_tracking_uri(cfg.tracking.uri, base_dir), run_id))


def _check_objective(cfg: DictConfig) -> None:
    """``objective`` must be a final metric the run's task logs (ablab.config.tasks.final_metric_names)."""
    objectives = final_metric_names(task_of(cfg))
    if cfg.get("objective") is not None and cfg.objective not in objectives:
        raise ConfigError(
            f"objective={cfg.objective!r} is not a final metric of dataset.task={task_of(cfg).name!r}; "
            f"allowed: {', '.join(objectives)}."
        )


def _console_warnings_only() -> None:
    """Raise the job's console log handlers to WARNING; its log file keeps every line."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> dict[str, float] | float | dict[str, dict]:
    """The final metrics; with ``objective`` set, that one metric as a float (what Optuna needs);
    for a fused pack job, each run's error and metrics by run key."""
    hydra_cfg = HydraConfig.get()
    exit_with_launcher()  # in a joblib/submitit job process: no orphan when the launcher dies
    if cfg.tracking.get("parent_run_id"):
        _console_warnings_only()  # a study job: its lines go to its log file, the bar to the console
    try:
        if cfg.get("pack"):
            return train_pack_job(cfg, hydra_cfg.runtime.cwd)
        _check_objective(cfg)
        metrics = train(
            cfg,
            choices=hydra_cfg.runtime.choices,
            overrides=hydra_cfg.overrides.task,
            base_dir=hydra_cfg.runtime.cwd,
        )
        return metrics if cfg.get("objective") is None else metrics[cfg.objective]
    except (ConfigError, DatasetUnavailable, Diverged, TrackingUnavailable) as error:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # the sweeper records this job as failed and carries on
        print(f"ablab-train: {error}", file=sys.stderr)
        sys.exit(1 if isinstance(error, Diverged) else 2)


def main() -> None:
    quiet_console()
    register_schemas()
    problem = read_only_working_directory(sys.argv[1:])
    if problem:
        print(f"ablab-train: {problem}", file=sys.stderr)
        sys.exit(2)
    mark_launcher()  # its job processes exit when it dies (ablab.run.orphans)
    new_launch()  # one id for this command's runs, whichever process trains them
    sys.argv[1:] = with_packing_launcher(sys.argv[1:])
    quiet_on_broken_pipe(lambda: config_errors_exit_2(_hydra_main))


def cli() -> None:
    """The ``ablab-train`` command: ``main``, and the process ends without Python's teardown."""
    end_without_teardown(main)


if __name__ == "__main__":
    cli()
