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
from ablab.data import load_dataset
from ablab.errors import ConfigError, DatasetUnavailable, Diverged
from ablab.model import build_mlp, build_optimizer
from ablab.run_key import run_key
from ablab.runtime import configure_threads
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
GROUPS = ("initializer", "activation", "optimizer", "dataset", "model", "trainer")


class _EpochLogger(keras.callbacks.Callback):
    """Sends each epoch's metrics to MLflow and stops the fit on a NaN/inf loss."""

    def __init__(self, recorder: RunRecorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.diverged_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = dict(logs or {})
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

    Raises ConfigError / DatasetUnavailable before anything is written to MLflow.
    """
    choices = dict(choices or {})
    base_dir = Path(base_dir)
    # Thread pools first: TF fixes them at its first use, which validation can trigger.
    threads = configure_threads(cfg.trainer.threads)
    validate(cfg, choices)
    splits = load_dataset(cfg.dataset, cfg.model.output_units)

    client = MlflowClient(resolve_tracking_uri(cfg.tracking.uri, base_dir))
    experiment_id = ensure_experiment(client, cfg.tracking.experiment)
    tags = _run_tags(cfg, choices, overrides, base_dir)
    with recorded_run(
        client, experiment_id, _run_name(cfg, tags), tags, cfg.tracking.parent_run_id
    ) as recorder:
        recorder.log_params(flatten_params(cfg))
        recorder.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")

        keras.backend.clear_session()
        keras.utils.set_random_seed(cfg.trainer.seed)
        model = build_mlp(cfg, input_dim=splits.x_train.shape[1])
        model.compile(
            optimizer=build_optimizer(cfg.optimizer),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        summary: list[str] = []
        model.summary(print_fn=lambda line, *args, **kwargs: summary.append(line))
        recorder.log_text("\n".join(summary), "model_summary.txt")

        epoch_logger = _EpochLogger(recorder)
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
            raise Diverged(
                f"loss became {history.history['loss'][-1]} at epoch {epoch_logger.diverged_at}; "
                "training stopped (try a smaller optimizer.learning_rate)."
            )

        test_loss, test_accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
        metrics = {
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
            "train_seconds": train_seconds,
            "param_count": float(model.count_params()),
        }
        recorder.log_metrics(metrics)
        recorder.set_tags({"ablab.threads": threads or "default"})
        figure = learning_curve_figure(history.history, _run_name(cfg, tags))
        recorder.log_figure(figure, "learning_curve.png")
        figure.clf()
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> dict[str, float]:
    hydra_cfg = HydraConfig.get()
    try:
        return train(
            cfg,
            choices=hydra_cfg.runtime.choices,
            overrides=hydra_cfg.overrides.task,
            base_dir=hydra_cfg.runtime.cwd,
        )
    except (ConfigError, DatasetUnavailable) as error:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # the sweeper records this job as failed and carries on
        print(f"ablab-train: {error}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    register_schemas()
    _hydra_main()


if __name__ == "__main__":
    main()
