"""Each planned run config's model, built once before anything trains: what planning inspects.

The study sweeper fingerprints each arm's model (``ablab.models.fingerprint``) and weighs its
training step (``ablab.run.engines.fused.step_cost``) from the same build.
"""

from __future__ import annotations

import json

import keras
from omegaconf import DictConfig

from ablab.config.run_key import result_settings
from ablab.datasets import Splits, load_dataset
from ablab.models.build import build_model


class ProbeModels:
    """Builds a config's model at seed 0 on its dataset's shapes; each dataset is loaded once
    (for its shapes only), each config built once."""

    def __init__(self) -> None:
        self._data: dict[str, Splits] = {}
        self._built: dict[str, keras.Model] = {}

    def _splits(self, cfg: DictConfig) -> Splits:
        key = json.dumps(result_settings(cfg)["dataset"], sort_keys=True, default=str)
        if key not in self._data:
            self._data[key] = load_dataset(cfg.dataset)
        return self._data[key]

    def __call__(self, cfg: DictConfig) -> keras.Model:
        key = json.dumps(result_settings(cfg), sort_keys=True, default=str)
        if key not in self._built:
            splits = self._splits(cfg)
            # Layer names restart, so equal models serialize equally; no garbage collection,
            # which costs ~0.2 s a call once TensorFlow is loaded.
            keras.backend.clear_session(free_memory=False)
            keras.utils.set_random_seed(0)
            self._built[key] = build_model(cfg, splits.input_shape, splits.outputs)
        return self._built[key]
