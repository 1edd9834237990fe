"""Side by side: the fused engine's two layouts on the seed study's models, in one process.

    python benchmarks/fused_layouts.py                  # 12 models (4 arms x 3 seeds), 20 epochs
    python benchmarks/fused_layouts.py --threads 1 --seeds 0 1 2 --epochs 50

The hand-written MLP (``ablab.fused.hand_mlp``) and the Keras models (``ablab.fused.keras_models``)
train the same configs on mnist_5k; the first epoch (tracing) is timed apart. The fused engine
keeps the hand-written path only while it is >= 1.3x faster on these models (README "Engines").
"""

import argparse
import time

import numpy as np
import tensorflow as tf
from hydra import compose, initialize_config_dir

from ablab.config import register_schemas
from ablab.datasets import load_dataset
from ablab.fitting import FitData, ModelSpec
from ablab.fused.hand_mlp import HandWrittenMLPs
from ablab.fused.keras_models import KerasModels
from ablab.packaged import CONFIG_DIR
from ablab.scaling import scale_splits

ARMS = {
    "baseline": [],
    "initializer=he_normal": ["initializer=he_normal"],
    "activation=relu": ["activation=relu"],
    "optimizer=adam": ["optimizer=adam"],
}


def seed_specs(seeds: list[int]) -> list[ModelSpec]:
    register_schemas()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return [
            ModelSpec(compose("train", overrides=[*arm, f"trainer.seed={s}"]), s)
            for arm in ARMS.values()
            for s in seeds
        ]


def time_layout(layout, specs: list[ModelSpec], splits, epochs: int) -> tuple[float, float, float]:
    """(first epoch seconds, steady seconds per epoch, mean final val accuracy)."""
    data = FitData.split(splits.x_train, splits.y_train, 0.3)
    models = layout(specs, splits.input_shape, splits.outputs)
    x, y = tf.constant(models.inputs(data.x)), tf.constant(data.y)
    x_val, y_val = tf.constant(models.inputs(data.x_val)), tf.constant(data.y_val)
    started = time.perf_counter()
    models.train_epoch(x, y, 1)
    models.evaluate(x_val, y_val)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for epoch in range(2, epochs + 1):
        models.train_epoch(x, y, epoch)
        val = models.evaluate(x_val, y_val)
    return first, (time.perf_counter() - started) / (epochs - 1), float(np.mean(val["accuracy"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=None, help="TF intra/inter-op threads (default: TF's)")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    specs = seed_specs(args.seeds)
    splits = load_dataset(specs[0].config.dataset)
    splits = scale_splits(splits, specs[0].config.scaling.name, 0.3)
    rows = {}
    for name, layout in (("hand-written MLP", HandWrittenMLPs), ("Keras models", KerasModels)):
        rows[name] = time_layout(layout, specs, splits, args.epochs)
    print(f"seed study models: {len(specs)} in one set, {args.epochs} epochs, threads {args.threads or 'TF default'}")
    print(f"{'layout':<18} {'first epoch s':>14} {'s/epoch':>9} {'ms/epoch/model':>15} {'mean val_acc':>13}")
    for name, (first, per_epoch, accuracy) in rows.items():
        print(f"{name:<18} {first:>14.2f} {per_epoch:>9.3f} {per_epoch / len(specs) * 1000:>15.2f} {accuracy:>13.4f}")
    ratio = rows["Keras models"][1] / rows["hand-written MLP"][1]
    print(f"hand-written MLP is {ratio:.2f}x faster per epoch than the Keras models (keep it if >= 1.3)")


if __name__ == "__main__":
    main()
