"""The training entrypoint: config -> data -> model -> fit -> evaluate -> MLflow.

``train(cfg)`` is the plain function tests call; ``main`` is the thin ``@hydra.main`` wrapper
behind the ``ablab-train`` command. ``trainer.engine`` picks who trains: Keras ``fit``
(``ablab.keras_engine``) or the fused engine (``ablab.fused``); both record runs alike.
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

from ablab.config import register_schemas
from ablab.datasets import load_dataset
from ablab.errors import ConfigError, DatasetUnavailable, Diverged, TrackingUnavailable
from ablab.fused.pack import PackMember, train_pack
from ablab.fused.pack_file import read_pack
from ablab.fused.support import fall_back_if_needed
from ablab.keras_engine import train_keras
from ablab.models import check_model
from ablab.packaged import CONFIG_DIR  # user conf/ folders layer over it: hydra_plugins.ablab_searchpath
from ablab.recording import log_result, log_setup, open_experiment, run_name, run_tags, tracking_store
from ablab.runtime import configure_threads
from ablab.scaling import scale_splits
from ablab.tasks import final_metric_names, task_of
from ablab.tracking import error_summary, recorded_run
from ablab.validation import validate

log = logging.getLogger(__name__)


def train(
    cfg: DictConfig,
    choices: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    base_dir: str | Path = ".",
) -> dict[str, float]:
    """Train one run as configured and log it to MLflow; returns the final metrics.

    Raises ConfigError / DatasetUnavailable / TrackingUnavailable before anything is written
    to MLflow.
    """
    choices = dict(choices or {})
    base_dir = Path(base_dir)
    # Thread pools first: TF fixes them at its first use, which validation can trigger.
    threads = configure_threads(cfg.trainer.threads)
    validate(cfg, choices)
    reason = fall_back_if_needed(cfg)
    if reason:
        log.warning("trainer.engine=fused cannot train %s: this run trains on the Keras engine.", reason)
    if cfg.trainer.engine == "fused":  # checks the store itself, once per pack
        [outcome] = train_pack([PackMember(cfg, choices, list(overrides))], base_dir, threads)
        if outcome.error is not None:
            raise outcome.error
        return outcome.metrics

    tracking_uri = tracking_store(cfg, base_dir)
    splits = load_dataset(cfg.dataset)
    check_model(cfg, splits.input_shape, splits.outputs)  # a broken builder fails before the run opens
    splits = scale_splits(splits, cfg.scaling.name, cfg.trainer.validation_split)
    client, experiment_id = open_experiment(cfg, tracking_uri)
    tags = run_tags(cfg, choices, overrides, base_dir)
    name = run_name(cfg, tags)
    with recorded_run(client, experiment_id, name, tags, cfg.tracking.parent_run_id) as recorder:
        log_setup(recorder, cfg)
        metrics, history = train_keras(cfg, splits, recorder)
        log_result(recorder, metrics, history, name, threads)
    return metrics


def train_pack_job(cfg: DictConfig, base_dir: str | Path) -> dict[str, str]:
    """A study sweeper's fused job: train the pack file ``cfg.pack``.

    Returns each run key with its error ("" when the run FINISHED), for the sweeper's summary.
    """
    threads = configure_threads(cfg.trainer.threads)
    outcomes = train_pack(read_pack(cfg.pack), Path(base_dir), threads)
    return {o.run_key: error_summary(o.error) if o.error else "" for o in outcomes}


def _check_objective(cfg: DictConfig) -> None:
    """``objective`` must be a final metric the run's task logs (ablab.tasks.final_metric_names)."""
    objectives = final_metric_names(task_of(cfg))
    if cfg.get("objective") is not None and cfg.objective not in objectives:
        raise ConfigError(
            f"objective={cfg.objective!r} is not a final metric of dataset.task={task_of(cfg).name!r}; "
            f"allowed: {', '.join(objectives)}."
        )


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> dict[str, float] | float | dict[str, str]:
    """The final metrics; with ``objective`` set, that one metric as a float (what Optuna needs);
    for a study's fused pack job, each run's error by run key."""
    hydra_cfg = HydraConfig.get()
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
    register_schemas()
    _hydra_main()


if __name__ == "__main__":
    main()
