"""Builds the run's model from ``model._target_`` and checks what the builder returned."""

from __future__ import annotations

import keras
from hydra.utils import instantiate
from omegaconf import DictConfig

from ablab.config.targets import target_import_problem
from ablab.config.tasks import task_of
from ablab.errors import ConfigError
from ablab.models.blocks import Blocks
from ablab.models.foreign_ops import model_functions, module_functions, tensorflow_ops

BUILDER_SIGNATURE = "build(blocks, input_shape, outputs, **model_args) -> keras.Model"


def builder_import_problem(target: object) -> str | None:
    """Why ``model._target_`` names no importable builder (one sentence), or None."""
    return target_import_problem("model", target, "builder")


def build_model(cfg: DictConfig, input_shape: tuple[int, ...], outputs: int) -> keras.Model:
    """The uncompiled model ``model._target_`` builds for this data; ConfigError when the
    builder does not import, raises, or returns something other than a fitting keras.Model."""
    target = cfg.model.get("_target_")
    problem = builder_import_problem(target)
    if problem:
        raise ConfigError(f"{problem}. A builder is {BUILDER_SIGNATURE}.")
    try:
        model = instantiate(
            cfg.model, blocks=Blocks(cfg), input_shape=tuple(input_shape), outputs=outputs, _convert_="all"
        )
    except Exception as error:
        cause = error.__cause__ or error  # Hydra wraps the builder's own exception
        _refuse_tensorflow_ops(target, module_functions(_builder(target)))
        raise ConfigError(
            f"model._target_={target!r} raised {type(cause).__name__}: {str(cause).splitlines()[0][:300]} "
            f"(called with input_shape={tuple(input_shape)}, outputs={outputs} and the model.* keys; "
            f"a builder is {BUILDER_SIGNATURE})."
        ) from error
    if not isinstance(model, keras.Model):
        raise ConfigError(
            f"model._target_={target!r} returned {type(model).__name__}, not a keras.Model; "
            f"a builder is {BUILDER_SIGNATURE}."
        )
    _refuse_tensorflow_ops(target, model_functions(model))
    produced = tuple(model.output_shape)
    if produced[1:] != (outputs,):
        raise ConfigError(
            f"model._target_={target!r} built a model whose output shape is {produced}, but the data's "
            f"labels need (None, {outputs}) (dataset.task={cfg.dataset.task!r}); build the head with "
            "blocks.head(outputs)."
        )
    _refuse_output_activation(cfg, target, model)
    return model


def _refuse_output_activation(cfg: DictConfig, target: object, model: keras.Model) -> None:
    """ConfigError when the model's last layer applies the task's softmax or sigmoid itself: the
    loss takes logits (``ablab.models.objective``), so it would apply it twice."""
    task = task_of(cfg)
    if task.output_activation is None or not model.layers:
        return
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        applied = "softmax"
    elif getattr(last, "activation", None) in (keras.activations.softmax, keras.activations.sigmoid):
        applied = last.activation.__name__
    else:
        return
    raise ConfigError(
        f"model._target_={target!r} ends in a {applied} (its last layer, {type(last).__name__} "
        f"{last.name!r}), but ablab's loss takes the output layer's logits and applies the "
        f"{task.output_activation} of dataset.task={task.name!r} itself (the same crossentropy on every "
        "backend; the vote averages the probabilities). End the model with blocks.head(outputs), the "
        "output Dense with no activation."
    )


def check_model(cfg: DictConfig, input_shape: tuple[int, ...], outputs: int) -> keras.Model:
    """Build the model once, before any run opens, so a broken builder fails before training.

    Layer names restart (the summary reads dense, dense_1, ...); no garbage collection, which
    costs ~0.2 s a call once TensorFlow is loaded, paid per distinct model of a pack."""
    keras.backend.clear_session(free_memory=False)
    return build_model(cfg, input_shape, outputs)


def _builder(target: str):
    """The builder function ``model._target_`` names (it imported: the build ran)."""
    from hydra.utils import get_method

    return get_method(target)


def _refuse_tensorflow_ops(target: object, functions) -> None:
    """ConfigError naming the TensorFlow ops the model's code calls, on another backend."""
    ops = tensorflow_ops(functions)
    if ops:
        backend = keras.backend.backend()
        raise ConfigError(
            f"model._target_={target!r} calls TensorFlow directly: {'; '.join(ops)}. On "
            f"trainer.backend={backend!r} TensorFlow would be handed {backend} tensors, which it cannot "
            "take; write these ops with keras.ops (keras.ops.relu, keras.ops.matmul, ...) so the model "
            "runs on every backend, or train it with trainer.backend=tensorflow."
        )
