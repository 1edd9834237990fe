"""Typed schemas for the Hydra config groups, registered in Hydra's ConfigStore.

The YAML files in ``conf/`` extend these schemas, so a wrong type or an unknown key fails
when Hydra composes the config. Group *options* stay plain YAML: a new activation,
initializer or optimizer is one new file naming a Keras identifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# Who trains a run (``trainer.engine``): each name is a module of ``ablab.run.engines``.
ENGINES = ("keras", "fused")
# The Keras backend a run trains on (``trainer.backend``): each name is a module of ``ablab.run.backends``.
BACKENDS = ("tensorflow", "jax", "torch")


class Part(Enum):
    """What a config group decides about a run; ``ablab.config.groups`` derives its lists from it."""

    INITIAL_WEIGHTS = "the model's initial weights"
    LAYERS = "the model's layers"
    OPTIMIZER = "the optimizer"
    MEMBERS = "the models that vote"
    DATA = "the data"
    TRAINING = "how training runs"
    TRACKING = "where the run is logged"


def group(schema: Any, part: Part) -> Any:
    """A config group field of ``TrainConfig``: ``schema`` builds its default node."""
    return field(default_factory=schema, metadata={"part": part})


@dataclass
class InitializerConfig:
    """A Keras initializer identifier (``keras.initializers.get``) and its arguments."""

    name: str = MISSING
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActivationConfig:
    """A Keras activation identifier (``keras.activations.get``) and its arguments."""

    name: str = MISSING
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    """A Keras optimizer identifier; ``args`` are its other constructor arguments."""

    name: str = MISSING
    learning_rate: float = MISSING
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScalingConfig:
    """How pixels are scaled before training (``ablab.datasets.scaling``); ``none`` keeps raw 0..255."""

    name: str = "none"  # none | unit (÷255) | standardize (training-split mean and std)


@dataclass
class NormalizationConfig:
    """A Keras normalization layer between each hidden Dense and its activation; None: none."""

    name: str | None = None  # a keras.layers class name, e.g. BatchNormalization
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class RegularizationConfig:
    """Dropout after each hidden activation and L2 weight decay on every Dense kernel; 0: off."""

    dropout: float = 0.0
    l2: float = 0.0


@dataclass
class EnsembleConfig:
    """How many models, each with its own seed, vote (soft voting) on the test set."""

    size: int = 1


@dataclass
class TrainerConfig:
    """How ``model.fit`` runs; the defaults are the seed's."""

    epochs: int = 100
    batch_size: int = 32
    validation_split: float = 0.3
    seed: int = 0
    verbose: int = 2
    # keras: model.fit, the reference. fused: many runs in one TensorFlow graph (ablab.run.engines.fused),
    # what the study presets use; a model with its own train_step falls back to keras, logged.
    engine: str = "keras"  # one of ENGINES
    # The Keras backend (one of BACKENDS); conf/trainer/default.yaml defaults it to $KERAS_BACKEND,
    # else tensorflow. Part of the run key: the same run on two backends is two runs.
    backend: str = "tensorflow"
    # Speed settings that leave the results unchanged (excluded from the run key):
    # batches run per TF call (fewer Python round trips; same math, same numbers) and
    # TF intra/inter-op threads per job (None: TF's default, cores // jobs when parallel).
    steps_per_execution: int = 32
    threads: int | None = None


@dataclass
class TrackingConfig:
    """Where runs are logged. ``uri`` None means $MLFLOW_TRACKING_URI, else ./mlflow.db.

    The study sweeper adds ``+tracking.parent_run_id`` to its jobs: not a user setting, so not
    in the schema (nor in ``--help`` / ``--cfg job``).
    """

    uri: str | None = None
    experiment: str = "ablab"
    # Extra run tags; the study sweeper fills the ablab.* tags here.
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """The whole run; each field is one config group in ``conf/``, validated by its type."""

    initializer: InitializerConfig = group(InitializerConfig, Part.INITIAL_WEIGHTS)
    activation: ActivationConfig = group(ActivationConfig, Part.LAYERS)
    optimizer: OptimizerConfig = group(OptimizerConfig, Part.OPTIMIZER)
    # Open nodes: ``_target_`` names a loader / builder, the other keys are its arguments
    # (ablab.datasets, ablab.models), so a user's own takes whatever keys it needs.
    dataset: dict[str, Any] = group(dict, Part.DATA)
    model: dict[str, Any] = group(dict, Part.LAYERS)
    scaling: ScalingConfig = group(ScalingConfig, Part.DATA)
    normalization: NormalizationConfig = group(NormalizationConfig, Part.LAYERS)
    regularization: RegularizationConfig = group(RegularizationConfig, Part.LAYERS)
    ensemble: EnsembleConfig = group(EnsembleConfig, Part.MEMBERS)
    trainer: TrainerConfig = group(TrainerConfig, Part.TRAINING)
    tracking: TrackingConfig = group(TrackingConfig, Part.TRACKING)
    # Filled by a study preset (conf/study/); read by the ablation sweeper, not by training.
    study: Any = None
    # The final metric `ablab-train` returns to its sweeper as a float (an Optuna search in
    # conf/hparams_search/ sets it); None returns them all. Not part of the run key.
    objective: str | None = None
    # The study sweeper's fused jobs add ``+pack=<file>`` (runs the fused engine trains together).


def register_schemas() -> None:
    """Register the run schema; ``conf/train.yaml`` names it first in its defaults list."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
