"""What every run records, whichever engine trains it: tags, name, params, artifacts, results.

Both engines go through these functions, so a run looks the same in the MLflow UI and the
report whether ``model.fit`` or the fused engine trained it; only ``ablab.engine`` tells.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from ablab.curves import learning_curve_figure
from ablab.run_key import run_key
from ablab.server_check import check_tracking_server, uri_source
from ablab.store import check_writable, prepare_store
from ablab.tags import ARM, ENGINE, GIT_COMMIT, HYDRA_OVERRIDES, RUN_KEY, THREADS
from ablab.tracking import (
    RunRecorder,
    ensure_experiment,
    flatten_params,
    git_commit,
    library_versions,
    resolve_tracking_uri,
)

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


def tracking_store(cfg: DictConfig, base_dir: Path) -> str:
    """The run's tracking URI; a server that does not answer fails here, in seconds."""
    tracking_uri = resolve_tracking_uri(cfg.tracking.uri, base_dir)
    check_tracking_server(tracking_uri, uri_source(cfg.tracking.uri))
    check_writable(tracking_uri, uri_source(cfg.tracking.uri))
    return tracking_uri


def open_experiment(cfg: DictConfig, tracking_uri: str) -> tuple[MlflowClient, str]:
    """A client on the store and the id of the run's experiment (created if needed)."""
    client = prepare_store(tracking_uri)
    return client, ensure_experiment(client, cfg.tracking.experiment)


def run_tags(
    cfg: DictConfig, choices: Mapping[str, str], overrides: Sequence[str], base_dir: Path
) -> dict[str, str]:
    tags = {group: choices.get(group) or _choice_fallback(cfg, group) for group in GROUPS}
    tags = {k: v for k, v in tags.items() if v}
    tags[HYDRA_OVERRIDES] = " ".join(overrides)
    tags[RUN_KEY] = run_key(cfg)
    tags[ENGINE] = cfg.trainer.engine
    tags.update(library_versions())
    commit = git_commit(base_dir)
    if commit:
        tags[GIT_COMMIT] = commit
    tags.update(cfg.tracking.tags)
    return tags


def _choice_fallback(cfg: DictConfig, group: str) -> str | None:
    """Outside Hydra (tests, notebooks) there are no file choices: tag the Keras name."""
    node = cfg.get(group)
    return node.get("name") if isinstance(node, DictConfig) else None


# Overrides a run name leaves out: bookkeeping and output settings (by their first key), the
# seed (named anyway), and the choices of the groups the name starts with.
_UNNAMED_ROOTS = ("hydra", "tracking", "pack", "study")
_UNNAMED_KEYS = ("trainer.seed", "trainer.verbose", *GROUPS[:3])


def run_name(cfg: DictConfig, tags: Mapping[str, str], overrides: Sequence[str] = ()) -> str:
    """A study job: its arm and seed. A plain run: its first groups, then what the command line
    changed (``model.hidden_units=[]``), so runs that differ never share a name."""
    arm = tags.get(ARM)
    changed: list[str] = []
    if not arm:
        arm = "-".join(tags[g] for g in GROUPS[:3] if g in tags)
        for override in overrides:
            key = override.split("=", 1)[0].lstrip("+~")
            if key not in _UNNAMED_KEYS and re.split(r"[./]", key)[0] not in _UNNAMED_ROOTS:
                changed.append(override)
    return " ".join([arm, *changed, f"seed={cfg.trainer.seed}"])[:250]


def log_setup(recorder: RunRecorder, cfg: DictConfig) -> None:
    """Before training: the params and the resolved config."""
    recorder.log_params(flatten_params(cfg))
    recorder.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")


def log_result(
    recorder: RunRecorder,
    metrics: Mapping[str, float],
    history: Mapping[str, Sequence[float]],
    name: str,
    threads: int | None,
) -> None:
    """After training: the final metrics, the thread count and the learning-curve figure."""
    recorder.log_metrics(metrics)
    recorder.set_tags({THREADS: threads or "default"})
    figure = learning_curve_figure(history, name)
    recorder.log_figure(figure, "learning_curve.png")
    figure.clf()
