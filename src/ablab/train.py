"""The training entrypoint: config -> data -> model -> fit -> evaluate -> MLflow.

``train(cfg)`` is the plain function tests call; ``main`` is the thin ``@hydra.main`` wrapper
behind the ``ablab-train`` command.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import hydra
import keras
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from ablab.config import register_schemas
from ablab.curves import learning_curve_figure
from ablab.data import Splits, load_dataset
from ablab.ensemble import Member, describe, member_metrics, member_seeds, run_metrics
from ablab.errors import ConfigError, DatasetUnavailable, Diverged, TrackingUnavailable
from ablab.model import build_mlp, build_optimizer
from ablab.run_key import run_key
from ablab.runtime import configure_threads
from ablab.scaling import scale_splits
from ablab.server_check import check_tracking_server, uri_source
from ablab.tracking import (
    RunRecorder,
    ensure_experiment,
    flatten_params,
    git_commit,
    library_versions,
    recorded_run,
    resolve_tracking_uri,
)
from ablab.validation import validate

# conf/ lives at the project root (the package is installed editable, ``pip install -e .``).
CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "conf")
GROUPS = (
    "initializer",
    "activation",
    "optimizer",
    "dataset",
    "model",
    "scaling",
    "normalization",
    "regularization",
    "ensemble",
    "trainer",
)


class _EpochLogger(keras.callbacks.Callback):
    """Sends each epoch's metrics to MLflow (unless ``recorder`` is None) and stops the fit on a
    NaN/inf loss."""

    def __init__(self, recorder: RunRecorder | None) -> None:
        super().__init__()
        self.recorder = recorder
        self.diverged_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = dict(logs or {})
        if self.recorder is not None:
            self.recorder.log_epoch(epoch + 1, logs)  # step = epoch number, from 1
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.diverged_at = epoch + 1  # numbered as the logged steps
            self.model.stop_training = True


def _run_tags(
    cfg: DictConfig, choices: Mapping[str, str], overrides: Sequence[str], base_dir: Path
) -> dict[str, str]:
    tags = {group: choices.get(group) or _choice_fallback(cfg, group) for group in GROUPS}
    tags = {k: v for k, v in tags.items() if v}
    tags["hydra_overrides"] = " ".join(overrides)
    tags["ablab.run_key"] = run_key(cfg)
    tags.update(library_versions())
    commit = git_commit(base_dir)
    if commit:
        tags["git_commit"] = commit
    tags.update(cfg.tracking.tags)
    return tags


def _choice_fallback(cfg: DictConfig, group: str) -> str | None:
    """Outside Hydra (tests, notebooks) there are no file choices: tag the Keras name."""
    node = cfg.get(group)
    return node.get("name") if isinstance(node, DictConfig) else None


def _run_name(cfg: DictConfig, tags: Mapping[str, str]) -> str:
    arm = tags.get("ablab.arm") or "-".join(tags[g] for g in GROUPS[:3] if g in tags)
    return f"{arm} seed={cfg.trainer.seed}"


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
    tracking_uri = resolve_tracking_uri(cfg.tracking.uri, base_dir)
    check_tracking_server(tracking_uri, uri_source(cfg.tracking.uri))
    splits = load_dataset(cfg.dataset, cfg.model.output_units)
    splits = scale_splits(splits, cfg.scaling.name, cfg.trainer.validation_split)

    client = MlflowClient(tracking_uri)
    experiment_id = ensure_experiment(client, cfg.tracking.experiment)
    tags = _run_tags(cfg, choices, overrides, base_dir)
    with recorded_run(
        client, experiment_id, _run_name(cfg, tags), tags, cfg.tracking.parent_run_id
    ) as recorder:
        recorder.log_params(flatten_params(cfg))
        recorder.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")

        seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
        if len(seeds) > 1:
            recorder.set_tags({"ablab.member_seeds": ",".join(map(str, seeds))})
        members: list[Member] = []
        for index, seed in enumerate(seeds):
            member, member_history = _fit_member(cfg, splits, seed, index, recorder)
            members.append(member)
            if index == 0:
                history = member_history  # member 0's curves are the run's (see _fit_member)

        metrics = run_metrics(members, splits.y_test)
        recorder.log_metrics(metrics)
        for step, values in member_metrics(members):
            recorder.log_metrics(values, step=step)
        recorder.set_tags({"ablab.threads": threads or "default"})
        figure = learning_curve_figure(history, _run_name(cfg, tags))
        recorder.log_figure(figure, "learning_curve.png")
        figure.clf()
    return metrics


def _fit_member(
    cfg: DictConfig, splits: Splits, seed: int, index: int, recorder: RunRecorder
) -> tuple[Member, dict[str, list[float]]]:
    """Build, fit and test one model (of ``ensemble.size``) seeded with ``seed``.

    Member 0 logs the model summary and its per-epoch curves as the run's ``loss``,
    ``accuracy``, ``val_loss`` and ``val_accuracy``: with ``trainer.seed`` as its seed it is
    the single model of the same config, so curves stay comparable across arms. The ensemble's
    own scores are the run's final test metrics; the members' are ``member_*`` metrics.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_mlp(cfg, input_dim=splits.x_train.shape[1])
    model.compile(
        optimizer=build_optimizer(cfg.optimizer),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=cfg.trainer.steps_per_execution,
    )
    if index == 0:
        summary: list[str] = []
        model.summary(print_fn=lambda line, *args, **kwargs: summary.append(line))
        seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
        recorder.log_text(describe(seeds, model.count_params()) + "\n".join(summary), "model_summary.txt")

    epoch_logger = _EpochLogger(recorder if index == 0 else None)
    started = time.perf_counter()
    history = model.fit(
        splits.x_train,
        splits.y_train,
        validation_split=cfg.trainer.validation_split,
        epochs=cfg.trainer.epochs,
        batch_size=cfg.trainer.batch_size,
        verbose=cfg.trainer.verbose,
        callbacks=[epoch_logger],
    )
    train_seconds = time.perf_counter() - started
    if epoch_logger.diverged_at is not None:
        recorder.set_tags({"ablab.diverged": "true"})
        which = f"ensemble member {index} (seed {seed}): " if cfg.ensemble.size > 1 else ""
        raise Diverged(
            f"{which}loss became {history.history['loss'][-1]} at epoch {epoch_logger.diverged_at}; "
            "training stopped (try a smaller optimizer.learning_rate)."
        )

    test_loss, test_accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
    val_accuracy = history.history.get("val_accuracy")  # absent when validation_split is 0
    member = Member(
        seed=seed,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        val_accuracy=float(val_accuracy[-1]) if val_accuracy else None,
        train_seconds=train_seconds,
        param_count=model.count_params(),
        # Only a vote needs the probabilities.
        probabilities=model.predict(splits.x_test, verbose=0) if cfg.ensemble.size > 1 else None,
    )
    return member, history.history


# The final metrics every run logs: what ``objective`` may name.
OBJECTIVES = ("test_accuracy", "test_loss", "train_seconds", "param_count")


def _check_objective(cfg: DictConfig) -> None:
    if cfg.get("objective") is not None and cfg.objective not in OBJECTIVES:
        allowed = ", ".join(OBJECTIVES)
        raise ConfigError(f"objective={cfg.objective!r} is not a final metric; allowed: {allowed}.")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> dict[str, float] | float:
    """The final metrics; with ``objective`` set, that one metric as a float (what Optuna needs)."""
    hydra_cfg = HydraConfig.get()
    try:
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
