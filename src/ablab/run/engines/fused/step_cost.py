"""How much a model's training step costs next to another's: what the study balances packs by.

A fused pack's epoch takes as long as its models' steps together, and the workers' packs run
side by side, so the study ends with its slowest pack. Counting models is not enough: on a CPU,
the small models of an ablation spend their steps on TensorFlow's per-op overhead, and what adds
ops is layers (each called forward and back) and weight tensors (each read, differentiated and
updated). Their count tracks the measured per-model epoch time of the series' models, 4 in a pack
on this project's 2-core machine: plain MLP 19 -> 16-18 ms, + batch norm 39 -> 33.5 ms,
+ dropout 43 -> 36.6 ms. It does not see arithmetic: between a small and a wide ConvNet it is
a rough guide only.
"""

from __future__ import annotations

import keras


def step_cost(model: keras.Model) -> int:
    """Layers (those of nested models too) plus weight tensors (moving statistics included)."""
    return _layer_count(model) + len(model.weights)


def _layer_count(model: keras.Model) -> int:
    return sum(_layer_count(layer) if isinstance(layer, keras.Model) else 1 for layer in model.layers)
