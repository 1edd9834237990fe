"""A user model that calls TensorFlow itself (``tf.nn.relu(x)`` in a layer's ``call``) trains only
on the TensorFlow backend: under JAX or PyTorch, TensorFlow is handed the backend's own tensors
and fails deep in its conversion code, at build time or at the first training step. Read from
the source of the model's layers (and of the builder's module when the build failed), the
refusal names the op before anything trains."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable
from types import ModuleType

import keras


def tensorflow_ops(functions: Iterable[Callable]) -> list[str]:
    """Each TensorFlow call in the source of ``functions`` as ``tf.nn.relu in TfRelu.call
    (file:line)``, when Keras runs on another backend; empty on TensorFlow."""
    if keras.backend.backend() == "tensorflow" or "tensorflow" not in sys.modules:
        return []  # ablab never imports TensorFlow on another backend: only user code would
    found: list[str] = []
    for function in dict.fromkeys(functions):
        names = _tensorflow_names(getattr(function, "__globals__", {}))
        if not names or function.__module__.split(".")[0] in ("keras", "ablab"):
            continue
        try:
            lines, first = inspect.getsourcelines(function)
        except (OSError, TypeError):
            continue
        call = re.compile(rf"\b((?:{'|'.join(map(re.escape, names))})(?:\.\w+)*)\s*\(")
        for number, line in enumerate(lines, first):
            for match in call.finditer(line):
                where = f"{inspect.getsourcefile(function)}:{number}"
                found.append(f"{match.group(1)} in {function.__qualname__} ({where})")
    return found


def _tensorflow_names(namespace: dict) -> list[str]:
    """The global names bound to TensorFlow (the module, a submodule, or one of its functions)."""
    return [name for name, value in namespace.items() if _home(value) == "tensorflow"]


def _home(value: object) -> str:
    """The top-level package a module or function comes from ("" for other values)."""
    module = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
    return (module or "").split(".")[0] if isinstance(module, str) else ""


def model_functions(model: keras.Model) -> list[Callable]:
    """What runs when the model is called: each layer's ``call`` and each Lambda's function."""
    layers = [model, *model._flatten_layers(include_self=False)]
    return [
        *(type(layer).call for layer in layers),
        *(layer.function for layer in layers if isinstance(layer, keras.layers.Lambda)),
    ]


def module_functions(function: Callable) -> list[Callable]:
    """The builder and the ``call`` of every Keras layer class its module defines (what the
    build may have run when it failed)."""
    module = sys.modules.get(getattr(function, "__module__", ""))
    namespace = vars(module).values() if module else ()
    classes = [cls for cls in namespace if isinstance(cls, type) and issubclass(cls, keras.layers.Layer)]
    return [function, *(cls.call for cls in classes)]
