"""One pipeline for every run, whichever engine fits it: store -> data -> models -> runs -> fit -> results.

K runs go through it together (one for a single run, a fused pack's for a pack job): each
tracking store is checked once, the data loaded and scaled once, each distinct model built once
(a broken builder fails before any run opens), every run opened and its setup logged, then the
engine fits the runs' models (an ensemble run has one per member) and each run is closed with
its own results. A run that fails (diverged, or its store refused a write) ends FAILED alone.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ablab.config.groups import MODEL_GROUPS
from ablab.config.run_key import run_key
from ablab.config.tasks import Task, task_of
from ablab.datasets import Splits, load_dataset
from ablab.datasets.scaling import scale_splits
from ablab.errors import Diverged
from ablab.models import check_model, objective
from ablab.run.backends import active_backend
from ablab.run.engines.contract import Fitted, ModelSpec
from ablab.run.engines.fallback import engine_for, fallback_reason
from ablab.run.engines.keras import model_summary
from ablab.run.ensemble import Member, describe, member_metrics, member_seeds, run_metrics
from ablab.run.request import RunRequest
from ablab.run.runtime import training_device
from ablab.tracking.client import RunRecorder, fail_run, finish_run, start_run
from ablab.tracking.record import log_result, log_setup, open_experiment, run_name, run_tags, tracking_store
from ablab.tracking.tags import DEVICE, DIVERGED, ENGINE, MEMBER_SEEDS, PACK_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How one run ended: its final metrics, or the error that failed it."""

    run_key: str
    metrics: dict[str, float] | None = None
    error: BaseException | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class _Built:
    """What building a run's model once told: its Keras summary, and why the fused engine
    cannot train it (None when it can)."""

    summary: str
    param_count: int
    fallback: str | None


def train_runs(requests: Sequence[RunRequest], base_dir: Path, threads: int | None) -> list[Outcome]:
    """Train the requested runs (validated already; K > 1 only for a fused pack, whose runs share
    data, batch size and epochs); returns one outcome per run, in order."""
    configs = [r.config for r in requests]
    first = configs[0]
    stores = {}  # each store checked once, before the data: a dead server fails in seconds
    for cfg in configs:
        if cfg.tracking.uri not in stores:
            stores[cfg.tracking.uri] = tracking_store(cfg, base_dir)
    splits = load_dataset(first.dataset)
    built = _build_once(configs, splits)
    splits = scale_splits(splits, first.scaling.name, first.trainer.validation_split)
    engines = [_engine_of(cfg, built[i]) for i, cfg in enumerate(configs)]

    recorders: list[RunRecorder] = []
    names: list[str] = []
    try:
        experiments: dict[tuple[str, str], tuple] = {}  # (store, experiment) -> (client, id)
        for request, engine, model in zip(requests, engines, built, strict=True):
            where = (stores[request.config.tracking.uri], request.config.tracking.experiment)
            if where not in experiments:
                experiments[where] = open_experiment(request.config, where[0])
            recorder, name = _open_run(
                request, engine, model, experiments[where], splits, base_dir, len(requests)
            )
            recorders.append(recorder)
            names.append(name)
        fitted = _fit(configs, engines, splits, recorders)
    except BaseException as error:
        for recorder in recorders:
            fail_run(recorder, error)
        raise

    outcomes = []
    for index, (recorder, cfg) in enumerate(zip(recorders, configs, strict=True)):
        try:
            metrics = _close(recorder, cfg, fitted[index], splits, names[index], threads, len(requests))
        except Exception as error:  # this run alone (it diverged, or its store refused a write)
            fail_run(recorder, error)
            outcomes.append(Outcome(run_key(cfg), error=error, run_id=recorder.run_id))
        except BaseException as error:  # Ctrl-C: this run and the ones not ended yet
            for rest in recorders[index:]:
                fail_run(rest, error)
            raise
        else:
            outcomes.append(Outcome(run_key(cfg), metrics=metrics, run_id=recorder.run_id))
    return outcomes


def _open_run(
    request: RunRequest,
    engine: str,
    model: _Built,
    experiment: tuple,
    splits: Splits,
    base_dir: Path,
    pack_size: int,
) -> tuple[RunRecorder, str]:
    """Open the run in its experiment and log its setup: params, config, data, model summary."""
    cfg = request.config
    tags = run_tags(cfg, request.choices, request.overrides, base_dir)
    tags[ENGINE] = engine  # a model the fused engine cannot train fell back (run_key unchanged)
    tags[DEVICE] = training_device()
    if engine != "keras":
        tags[PACK_SIZE] = str(pack_size)
    seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
    if len(seeds) > 1:
        tags[MEMBER_SEEDS] = ",".join(map(str, seeds))
    name = run_name(cfg, tags, request.overrides)
    client, experiment_id = experiment
    recorder = start_run(client, experiment_id, name, tags, cfg.tracking.get("parent_run_id"))
    log_setup(recorder, cfg, request.overrides, splits, tags)
    recorder.log_text(describe(seeds, model.param_count) + model.summary, "model_summary.txt")
    return recorder, name


def _build_once(configs: Sequence[DictConfig], splits: Splits) -> list[_Built]:
    """Each distinct model built once, before any run opens: its summary and fallback."""
    by_build: dict[str, _Built] = {}
    out = []
    for cfg in configs:
        key = json.dumps(
            {g: OmegaConf.to_container(cfg[g], resolve=True) for g in MODEL_GROUPS}, sort_keys=True
        )
        if key not in by_build:
            model = check_model(cfg, splits.input_shape, splits.outputs)
            by_build[key] = _Built(model_summary(model), model.count_params(), fallback_reason(model))
        out.append(by_build[key])
    return out


def _engine_of(cfg: DictConfig, built: _Built) -> str:
    fused_engine = active_backend().FUSED_ENGINE
    return engine_for(cfg.trainer.engine, cfg.trainer.backend, fused_engine, built.fallback)


def _fit(
    configs: Sequence[DictConfig], engines: Sequence[str], splits: Splits, recorders: Sequence[RunRecorder]
) -> list[list[Fitted]]:
    """Each run's fitted models (one per ensemble member), each engine fitting its runs' models.

    Member 0 (seed ``trainer.seed``) is the single model of the same config: its curves are the
    run's, live in MLflow as it trains, so curves stay comparable across arms.
    """
    fitted: list[list[Fitted]] = [[] for _ in configs]
    for engine in dict.fromkeys(engines):
        specs, owners = [], []
        for run, cfg in enumerate(configs):
            if engines[run] != engine:
                continue
            seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
            for member, seed in enumerate(seeds):
                specs.append(ModelSpec(cfg, seed, vote=len(seeds) > 1))
                owners.append((run, member))

        def on_epoch(index: int, epoch: int, values: Mapping[str, float], owners=owners) -> None:
            run, member = owners[index]
            if member == 0:
                recorders[run].log_epoch(epoch, values)

        for (run, _), result in zip(owners, _engine(engine).fit_models(specs, splits, on_epoch), strict=True):
            fitted[run].append(result)
    return fitted


def _close(
    recorder: RunRecorder,
    cfg: DictConfig,
    fitted: Sequence[Fitted],
    splits: Splits,
    name: str,
    threads: int | None,
    pack_size: int,
) -> dict[str, float]:
    """Log one run's results and end it FINISHED; raises Diverged when one of its models diverged."""
    seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
    for seed, model in zip(seeds, fitted, strict=True):
        if model.diverged_at is not None:
            recorder.set_tags({DIVERGED: "true"})
            which = f"ensemble member seed {seed}: " if len(seeds) > 1 else ""
            rest = "; the rest of its pack trained on" if pack_size > 1 else ""
            raise Diverged(
                f"{which}loss became {model.history['loss'][-1]} at epoch {model.diverged_at}; training "
                f"stopped{rest} (try a smaller optimizer.learning_rate)."
            )
    task = task_of(cfg)
    members = [_member(seed, model, task) for seed, model in zip(seeds, fitted, strict=True)]
    for step, values in member_metrics(members):
        recorder.log_metrics(values, step=step)
    metrics = run_metrics(members, splits.y_test)
    log_result(recorder, metrics, fitted[0].history, name, threads)
    finish_run(recorder)
    return metrics


def _member(seed: int, model: Fitted, task: Task) -> Member:
    val_accuracy = model.history.get("val_accuracy")  # absent without a validation split
    return Member(
        seed=seed,
        test=model.test,
        val_accuracy=val_accuracy[-1] if val_accuracy else None,
        train_seconds=model.train_seconds,
        param_count=model.param_count,
        probabilities=None if model.predictions is None else objective.probabilities(task, model.predictions),
    )


def _engine(name: str):
    """The engine module of ``_engine_of``'s choice: keras, or the backend's own fused engine."""
    module = active_backend().FUSED_ENGINE if name == "fused" else name
    return importlib.import_module(f"ablab.run.engines.{module}")
