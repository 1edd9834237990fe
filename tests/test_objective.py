"""The task's loss and metrics take the head's logits: checked against numpy on known numbers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ablab.config.tasks import TASKS
from ablab.models import objective

LOGITS = np.array([[2.0, -1.0, 0.5], [-3.0, 4.0, 0.0], [0.1, 0.2, 0.3]], dtype=np.float32)
ONE_HOT = np.eye(3, dtype=np.float32)[[0, 2, 2]]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_classification_loss_is_the_crossentropy_of_the_softmax_of_the_logits():
    task = TASKS["classification"]
    expected = -np.log(softmax(LOGITS.astype(np.float64))[np.arange(3), [0, 2, 2]])
    per_sample = keras.ops.convert_to_numpy(objective.loss(task).call(ONE_HOT, LOGITS))
    np.testing.assert_allclose(per_sample, expected, rtol=1e-5)
    np.testing.assert_allclose(float(objective.loss(task)(ONE_HOT, LOGITS)), expected.mean(), rtol=1e-5)


def test_a_saturated_softmax_keeps_its_loss_and_gradient():
    """Logits 200 apart: the softmax's probability of the true class underflows to 0, yet the
    loss is the logit gap and the gradient is softmax - one_hot, as it is in exact arithmetic."""
    task = TASKS["classification"]
    logits = np.array([[200.0, 0.0]], dtype=np.float32)
    target = np.array([[0.0, 1.0]], dtype=np.float32)
    assert float(objective.loss(task)(target, logits)) == pytest.approx(200.0)
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient is taken with TensorFlow; test_backends checks JAX and PyTorch by training")
    import tensorflow as tf

    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        value = objective.loss(task)(target, variable)
    np.testing.assert_allclose(tape.gradient(value, variable).numpy(), [[1.0, -1.0]], atol=1e-6)


def test_accuracy_on_logits_is_the_accuracy_of_the_probabilities():
    classes = objective.sample_metrics(TASKS["classification"])["accuracy"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(classes(ONE_HOT, LOGITS)), [1.0, 0.0, 1.0])
    binary = objective.sample_metrics(TASKS["binary"])["accuracy"]
    logits = np.array([[-0.2], [0.3], [2.0], [-4.0]], dtype=np.float32)  # sigmoid: .45 .57 .88 .02
    labels = np.array([[0.0], [0.0], [1.0], [1.0]], dtype=np.float32)
    scores = keras.ops.convert_to_numpy(binary(labels, logits)).ravel()
    np.testing.assert_array_equal(scores, [1.0, 0.0, 1.0, 0.0])


def test_binary_loss_is_the_crossentropy_of_the_sigmoid_of_the_logits():
    logits = np.array([[-0.2], [0.3], [2.0]], dtype=np.float32)
    labels = np.array([[0.0], [1.0], [1.0]], dtype=np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64).ravel()))
    expected = -(labels.ravel() * np.log(p) + (1 - labels.ravel()) * np.log(1 - p))
    per_sample = keras.ops.convert_to_numpy(objective.loss(TASKS["binary"]).call(labels, logits))
    np.testing.assert_allclose(per_sample, expected, rtol=1e-5)


def test_regression_takes_its_outputs_as_they_are():
    task = TASKS["regression"]
    assert not objective.takes_logits(task)
    y, predicted = np.array([[1.0], [3.0]], np.float32), np.array([[2.0], [1.0]], np.float32)
    assert float(objective.loss(task)(y, predicted)) == pytest.approx((1 + 4) / 2)


def test_the_votes_probabilities_are_the_softmax_of_the_logits():
    probabilities = objective.probabilities(TASKS["classification"], LOGITS)
    np.testing.assert_allclose(probabilities, softmax(LOGITS.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
