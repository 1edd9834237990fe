"""Trains one pack (K runs that share data, shape and optimizer) and records each as its own run.

Each model gets its own MLflow run with the same params, curves, metrics and artifacts as a
Keras-engine run. A model whose loss turns NaN/inf is frozen and its run alone ends FAILED
(tagged ``ablab.diverged``); the others train on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf
from omegaconf import DictConfig

from ablab.datasets import load_dataset
from ablab.errors import Diverged
from ablab.fused.models import FusedMLPs, Scores
from ablab.keras_engine import model_summary
from ablab.models import build_model
from ablab.recording import log_result, log_setup, open_experiment, run_name, run_tags, tracking_store
from ablab.run_key import run_key
from ablab.scaling import fit_rows, scale_splits
from ablab.tags import DIVERGED, PACK_SIZE
from ablab.tracking import fail_run, finish_run, start_run


@dataclass(frozen=True)
class PackMember:
    """One run of a pack: its composed config and what Hydra composed it from."""

    config: DictConfig
    choices: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """How one member's run ended: its final metrics, or the error that failed it."""

    run_key: str
    metrics: dict[str, float] | None = None
    error: BaseException | None = None
    run_id: str | None = None


def train_pack(members: Sequence[PackMember], base_dir: Path, threads: int | None) -> list[Outcome]:
    """Train the members side by side; returns one outcome per member, in order.

    The members must share their data, batch size and epochs (``ablab.fused.support.pack_key``),
    be trainable by the fused engine (``fallback_reason``) and be validated already.
    """
    configs = [m.config for m in members]
    first = configs[0]
    # Each store checked once, before the data: a server that does not answer fails in seconds.
    stores: dict[str | None, str] = {}
    for cfg in configs:
        if cfg.tracking.uri not in stores:
            stores[cfg.tracking.uri] = tracking_store(cfg, base_dir)
    splits = load_dataset(first.dataset)
    splits = scale_splits(splits, first.scaling.name, first.trainer.validation_split)
    input_shape, outputs = splits.input_shape, splits.outputs
    x_train = splits.x_train.reshape(len(splits.x_train), -1)  # the MLP flattens images first
    x_test = splits.x_test.reshape(len(splits.x_test), -1)
    rows = fit_rows(len(x_train), first.trainer.validation_split)
    x_fit, y_fit = tf.constant(x_train[:rows]), tf.constant(splits.y_train[:rows])
    validation = None
    if rows < len(x_train):  # validation_split > 0: Keras' held-out tail
        validation = tf.constant(x_train[rows:]), tf.constant(splits.y_train[rows:])

    recorders, names = [], []
    try:
        summaries: dict[tuple[int, ...], str] = {}  # Keras' own summary, per model shape
        experiments: dict[tuple[str, str], tuple] = {}  # (store, experiment) -> (client, id)
        for member in members:
            shape = tuple(member.config.model.hidden_units)
            if shape not in summaries:
                summaries[shape] = model_summary(build_model(member.config, input_shape, outputs))
            where = (stores[member.config.tracking.uri], member.config.tracking.experiment)
            if where not in experiments:
                experiments[where] = open_experiment(member.config, where[0])
            client, experiment_id = experiments[where]
            tags = run_tags(member.config, member.choices, member.overrides, base_dir)
            tags[PACK_SIZE] = str(len(members))
            names.append(run_name(member.config, tags, member.overrides))
            recorders.append(
                start_run(client, experiment_id, names[-1], tags, member.config.tracking.get("parent_run_id"))
            )
            log_setup(recorders[-1], member.config, member.overrides, splits, tags)
            recorders[-1].log_text(summaries[shape], "model_summary.txt")

        models = FusedMLPs(configs, input_dim=x_train.shape[1], outputs=outputs)
        histories: list[dict[str, list[float]]] = [{} for _ in members]
        diverged_at: list[int | None] = [None] * len(members)
        started = time.perf_counter()
        for epoch in range(1, first.trainer.epochs + 1):
            train = models.train_epoch(x_fit, y_fit, epoch)
            val = models.evaluate(*validation) if validation else None
            for index, recorder in enumerate(recorders):
                if diverged_at[index] is None:
                    values = _epoch_values(train, val, index)
                    for key, value in values.items():
                        histories[index].setdefault(key, []).append(value)
                    recorder.log_epoch(epoch, values)
                    if not math.isfinite(values["loss"]):
                        diverged_at[index] = epoch
                        models.stop(index)
            if first.trainer.verbose:
                _print_epoch(epoch, first.trainer.epochs, train, val, diverged_at)
            if all(at is not None for at in diverged_at):
                break
        seconds_per_model = (time.perf_counter() - started) / len(members)
        test = models.evaluate(tf.constant(x_test), tf.constant(splits.y_test))
    except BaseException as error:
        for recorder in recorders:
            fail_run(recorder, error)
        raise

    outcomes = []
    for index, (recorder, cfg) in enumerate(zip(recorders, configs, strict=True)):
        key = run_key(cfg)
        try:
            if diverged_at[index] is not None:
                recorder.set_tags({DIVERGED: "true"})
                raise Diverged(
                    f"loss became {histories[index]['loss'][-1]} at epoch {diverged_at[index]}; this "
                    "model stopped, the rest of its pack trained on (try a smaller optimizer.learning_rate)."
                )
            metrics = {
                "test_loss": float(test.loss[index]),
                "test_accuracy": float(test.accuracy[index]),
                # The pack's fit time, shared equally: what this run cost.
                "train_seconds": seconds_per_model,
                "param_count": float(models.count_params(index)),
            }
            log_result(recorder, metrics, histories[index], names[index], threads)
        except Exception as error:
            fail_run(recorder, error)
            outcomes.append(Outcome(key, error=error, run_id=recorder.run_id))
        except BaseException as error:  # Ctrl-C: this run and the ones not ended yet
            for rest in recorders[index:]:
                fail_run(rest, error)
            raise
        else:
            try:
                finish_run(recorder)
            except Exception as error:  # the store failed it: this run alone, the rest still end
                fail_run(recorder, error)
                outcomes.append(Outcome(key, error=error))
            else:
                outcomes.append(Outcome(key, metrics=metrics, run_id=recorder.run_id))
    return outcomes


def _epoch_values(train: Scores, val: Scores | None, index: int) -> dict[str, float]:
    """One model's epoch metrics, named as Keras logs them."""
    values = {"loss": float(train.loss[index]), "accuracy": float(train.accuracy[index])}
    if val is not None:
        values.update(val_loss=float(val.loss[index]), val_accuracy=float(val.accuracy[index]))
    return values


def _print_epoch(
    epoch: int, epochs: int, train: Scores, val: Scores | None, diverged_at: list[int | None]
) -> None:
    """A one-line progress report for the pack (Keras prints one per model)."""
    live = [i for i, at in enumerate(diverged_at) if at is None]
    if not live:
        print(f"Epoch {epoch}/{epochs} - every model of the pack diverged", flush=True)
        return
    loss = train.loss[live]
    text = f"Epoch {epoch}/{epochs} - {len(live)} models - loss {loss.min():.4f}..{loss.max():.4f}"
    if val is not None:
        accuracy = val.accuracy[live]
        text += f" - val_accuracy {accuracy.min():.4f}..{accuracy.max():.4f}"
    print(text, flush=True)
