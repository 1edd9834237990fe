"""A user model that calls TensorFlow itself (``tf.nn.relu(x)``) trains only on the TensorFlow
backend: under JAX or PyTorch, TensorFlow is handed the backend's own tensors and fails deep in
its conversion code. This finds the user's line that called it, so the refusal names the op."""

from __future__ import annotations

import traceback

import keras

_TENSORFLOW = ("/tensorflow/", "/tf_keras/")


def tensorflow_call(error: BaseException) -> str | None:
    """The user source line (and where it is) that called TensorFlow when ``error`` was raised
    inside TensorFlow on another backend; None when Keras runs on TensorFlow or TF was not involved."""
    if keras.backend.backend() == "tensorflow":
        return None
    frames = traceback.extract_tb(error.__traceback__)
    for caller, called in zip(frames, frames[1:], strict=False):
        if _in_tensorflow(called.filename) and not _in_tensorflow(caller.filename):
            return f"{(caller.line or '').strip()} ({caller.filename}:{caller.lineno})"
    return None


def _in_tensorflow(filename: str) -> bool:
    return any(part in filename.replace("\\", "/") for part in _TENSORFLOW)
