"""What every run records, whichever engine trains it: tags, name, params, artifacts, results.

Both engines go through these functions, so a run looks the same in the MLflow UI and the
report whether ``model.fit`` or the fused engine trained it; only ``ablab.engine`` tells.
"""

from __future__ import annotations

import copy
import getpass
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from mlflow.tracking import MlflowClient
from mlflow.utils import mlflow_tags
from omegaconf import DictConfig, OmegaConf, open_dict

from ablab.config.groups import RUN_GROUPS
from ablab.config.run_key import run_key
from ablab.datasets import Splits
from ablab.datasets.scaling import fit_rows
from ablab.tracking.client import (
    RunRecorder,
    config_entries,
    ensure_experiment,
    git_commit,
    library_versions,
    resolve_tracking_uri,
)
from ablab.tracking.learning_curve import learning_curve_figure
from ablab.tracking.server_check import check_tracking_server, uri_source
from ablab.tracking.store import check_writable, prepare_store
from ablab.tracking.tags import ARM, ENGINE, GIT_COMMIT, HYDRA_OVERRIDES, RUN_KEY, THREADS


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
    tags = {group: choices.get(group) or _choice_fallback(cfg, group) for group in RUN_GROUPS}
    tags = {k: v for k, v in tags.items() if v}
    tags[HYDRA_OVERRIDES] = " ".join(overrides)
    tags[RUN_KEY] = run_key(cfg)
    tags[ENGINE] = cfg.trainer.engine
    tags.update(library_versions())
    tags.update(source_tags(base_dir))
    tags.update(config_entries(cfg)[1])  # settings that never change the numbers
    tags.update(cfg.tracking.tags)
    return tags


def source_tags(base_dir: Path) -> dict[str, str]:
    """MLflow's own source tags, which its UI shows as the run's Source, commit and user."""
    tags = {
        mlflow_tags.MLFLOW_SOURCE_NAME: "ablab-train",
        mlflow_tags.MLFLOW_SOURCE_TYPE: "LOCAL",
    }
    try:
        tags[mlflow_tags.MLFLOW_USER] = getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        pass
    commit = git_commit(base_dir)
    if commit:
        tags[GIT_COMMIT] = commit
    return tags


def _choice_fallback(cfg: DictConfig, group: str) -> str | None:
    """Outside Hydra (tests, notebooks) there are no file choices: tag the Keras name, else the
    module of the ``_target_`` (``ablab.datasets.mnist_5k.load`` -> ``mnist_5k``)."""
    node = cfg.get(group)
    if not isinstance(node, DictConfig):
        return None
    target = node.get("_target_")
    return node.get("name") or (target.rsplit(".", 2)[-2] if target and "." in target else None)


# Overrides a run name leaves out: bookkeeping and output settings (by their first key), the
# seed (named anyway), and the choices of the groups the name starts with.
_UNNAMED_ROOTS = ("hydra", "tracking", "pack", "study")
_UNNAMED_KEYS = ("trainer.seed", "trainer.verbose", *RUN_GROUPS[:3])


def run_name(cfg: DictConfig, tags: Mapping[str, str], overrides: Sequence[str] = ()) -> str:
    """A study job: its arm and seed. A plain run: its first groups, then what the command line
    changed (``model.hidden_units=[]``), so runs that differ never share a name."""
    arm = tags.get(ARM)
    changed: list[str] = []
    if not arm:
        arm = "-".join(tags[g] for g in RUN_GROUPS[:3] if g in tags)
        for override in overrides:
            key = override.split("=", 1)[0].lstrip("+~")
            if key not in _UNNAMED_KEYS and re.split(r"[./]", key)[0] not in _UNNAMED_ROOTS:
                changed.append(override)
    return " ".join([arm, *changed, f"seed={cfg.trainer.seed}"])[:250]


def log_setup(
    recorder: RunRecorder, cfg: DictConfig, overrides: Sequence[str], splits: Splits, tags: Mapping[str, str]
) -> None:
    """Before training: the params, the resolved config, Hydra's own config files and the data
    (named by its ``dataset`` tag, the option chosen)."""
    recorder.log_params(config_entries(cfg)[0])
    recorder.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
    for name, text in hydra_files(cfg, overrides).items():
        recorder.log_text(text, f".hydra/{name}")
    recorder.log_inputs(dataset_inputs(cfg, splits, tags.get("dataset") or "dataset"))


def hydra_files(cfg: DictConfig, overrides: Sequence[str]) -> dict[str, str]:
    """The run's ``.hydra/`` files as Hydra writes them (config, overrides, hydra), so tools that
    load a run's Hydra config from its artifacts find them.

    Written from the run's own config and overrides, not copied from the job's folder: a fused
    pack job's folder describes the pack, not each of its runs.
    """
    files = {
        "config.yaml": OmegaConf.to_yaml(cfg),
        "overrides.yaml": OmegaConf.to_yaml(OmegaConf.create(list(overrides))),
    }
    if HydraConfig.initialized():
        hydra_cfg = copy.deepcopy(HydraConfig.get())
        OmegaConf.set_readonly(hydra_cfg, False)
        with open_dict(hydra_cfg):
            hydra_cfg.overrides.task = list(overrides)
        files["hydra.yaml"] = OmegaConf.to_yaml(OmegaConf.create({"hydra": hydra_cfg}))
    return files


def dataset_inputs(cfg: DictConfig, splits: Splits, name: str) -> list:
    """The train, validation and test splits as MLflow dataset inputs: name, digest, sizes
    (the profile's shapes) and, as the source, the dataset config that made them."""
    import mlflow.data
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.entities import Dataset, DatasetInput, InputTag

    rows = fit_rows(len(splits.x_train), cfg.trainer.validation_split)
    parts = {
        "train": (splits.x_train[:rows], splits.y_train[:rows]),
        "validation": (splits.x_train[rows:], splits.y_train[rows:]),
        "test": (splits.x_test, splits.y_test),
    }
    source = CodeDatasetSource(OmegaConf.to_container(cfg.dataset, resolve=True))
    inputs = []
    for context, (x, y) in parts.items():
        if len(x):
            dataset = mlflow.data.from_numpy(x, targets=y, name=name, source=source)
            tags = [InputTag(mlflow_tags.MLFLOW_DATASET_CONTEXT, context)]
            inputs.append(DatasetInput(Dataset(**dataset.to_dict()), tags=tags))
    return inputs


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
