"""What building models through ``model._target_`` adds to a run and to a study, side by side
with what a seed run costs to train.

New per run: ``check_model`` (one extra build before the run opens). New per study: one
fingerprint per arm (``ablab.models.fingerprint``, the dead-factor check). Compared with the
Keras engine's fit of the seed MLP on mnist_5k, timed over a few epochs and scaled to 100.

    .venv/bin/python benchmarks/builder_overhead.py --epochs 3

Writes benchmarks/results/builder_overhead.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import keras
from hydra import compose, initialize_config_dir
from results import record, table

from ablab.config.packaged import CONFIG_DIR
from ablab.config.schema import register_schemas
from ablab.datasets import load_dataset
from ablab.models import build_model, check_model
from ablab.models.blocks import build_optimizer
from ablab.models.fingerprint import Fingerprints

SEED_ARMS = ([], ["initializer=he_normal"], ["activation=relu"], ["optimizer=adam"])


def timed(function, repeats: int) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs actually fitted (scaled to 100)")
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()
    register_schemas()
    with initialize_config_dir(config_dir=str(Path(CONFIG_DIR).resolve()), version_base="1.3"):
        configs = [compose(config_name="train", overrides=arm) for arm in SEED_ARMS]
    cfg = configs[0]
    splits = load_dataset(cfg.dataset)

    check = timed(lambda: check_model(cfg, splits.input_shape, splits.outputs), repeats=5)

    def fingerprint_study() -> None:
        """As the sweeper does: one Fingerprints per study (the data read once), each arm's once."""
        fingerprints = Fingerprints()
        for arm in configs:
            fingerprints(arm)

    per_arm = timed(fingerprint_study, repeats=3) / len(configs)

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_model(cfg, splits.input_shape, splits.outputs)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=cfg.trainer.steps_per_execution,  # ablab's fast setting: the smaller fit time
    )
    started = time.perf_counter()
    fit_settings = {"validation_split": 0.3, "batch_size": 32, "verbose": 0}
    model.fit(splits.x_train, splits.y_train, epochs=args.epochs, **fit_settings)
    fit_100 = (time.perf_counter() - started) / args.epochs * 100

    rows = [
        ["seed run: Keras fit, 100 epochs (scaled)", fit_100, 100.0],
        ["per run: check_model (one extra build)", check, 100 * check / fit_100],
        ["per study arm: dead-factor fingerprint", per_arm, 100 * per_arm / fit_100],
    ]
    print(f"{'what':44s} {'seconds':>9s} {'% of a 100-epoch run':>22s}")
    print(f"{rows[0][0]:44s} {fit_100:9.2f} {100.0:21.1f}%")
    for what, seconds, share in rows[1:]:
        print(f"{what:44s} {seconds:9.3f} {share:21.2f}%")
    columns = ["what", "seconds", "% of a 100-epoch run"]
    title = f"What model._target_ adds beside a seed run's fit ({args.epochs} epoch(s) fitted, scaled to 100)"
    record("builder_overhead", [table(title, columns, rows)], path=args.out)


if __name__ == "__main__":
    main()
