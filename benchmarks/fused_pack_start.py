"""Where a fused pack's time goes: building its models, tracing, the first epoch and evaluation
(TensorFlow optimizes and instantiates the graphs on first call), then a steady epoch.

One pack of ``study=series`` as the sweeper deals it (7 arms x 3 seeds, two packs weighed by
step cost), trained in a process with one thread as a launcher worker runs it. Side by side:
the engine (one traced step per architecture, run on TF's single-threaded executor), the same
on TF's default executor, and each model with a step of its own. Each side runs in a fresh
process, so none finds another's traces; the sides take turns for ``--rounds`` rounds and each
figure is the median over them, so the machine's drift does not favour one side.

    .venv/bin/python benchmarks/fused_pack_start.py --pack 0 --epochs 5 --rounds 3

Writes benchmarks/results/fused_pack_start.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results import record, table

SIDES = {"engine": "the engine", "default": "default executor", "own": "one step per model"}


def series_pack(index: int) -> list:
    """The model specs of the sweeper's pack ``index`` of ``study=series`` (its arms and seeds)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from ablab.config.packaged import CONFIG_DIR
    from ablab.config.schema import register_schemas
    from ablab.models.probe import ProbeModels
    from ablab.run.engines.contract import ModelSpec
    from ablab.run.engines.fused.step_cost import step_cost
    from ablab.run.ensemble import member_seeds
    from ablab.study.design import plan_arms
    from ablab.study.jobs import settings_overrides
    from ablab.study.packing import plan_packs

    register_schemas()
    jobs = []
    with initialize_config_dir(config_dir=str(Path(CONFIG_DIR).resolve()), version_base="1.3"):
        study = OmegaConf.to_container(compose(config_name="train", overrides=["study=series"]).study)
        for arm in plan_arms(study["baseline"], study["factors"], study["design"]):
            # Every factor of the series is a config group.
            settings = settings_overrides(arm.settings, frozenset(arm.settings))
            for seed in study["seeds"]:
                overrides = ["study=series", *settings, f"trainer.seed={seed}"]
                jobs.append(argparse.Namespace(config=compose(config_name="train", overrides=overrides)))
    probes = ProbeModels()

    def cost(job) -> float:
        return step_cost(probes(job.config)) * int(job.config.ensemble.size)

    packs, _ = plan_packs(jobs, workers=2, max_size=None, cost=cost)
    specs = []
    for job in packs[index]:
        seeds = member_seeds(int(job.config.trainer.seed), int(job.config.ensemble.size))
        specs += [ModelSpec(job.config, seed, vote=len(seeds) > 1) for seed in seeds]
    return specs


def measure(side: str, pack: int, epochs: int) -> dict[str, float]:
    """The pack's phases in this process, in seconds."""
    from ablab.run.backends import use_backend
    from ablab.run.runtime import configure_threads

    use_backend("tensorflow")
    configure_threads(1)
    import tensorflow as tf

    import ablab.run.engines.fused.model_step as model_step
    import ablab.run.engines.fused.models as fused_models
    from ablab.datasets import load_dataset
    from ablab.datasets.scaling import scale_splits
    from ablab.run.engines.contract import FitData

    if side == "own":  # every model its own key: no two share a traced step
        fused_models._architecture = lambda spec, model, update, index: f"model {index}"
    if side == "default":
        model_step.STEP_EXECUTOR = ""
    specs = series_pack(pack)
    cfg = specs[0].config
    splits = scale_splits(load_dataset(cfg.dataset), cfg.scaling.name, cfg.trainer.validation_split)
    data = FitData.split(splits.x_train, splits.y_train, cfg.trainer.validation_split)
    x, y, x_val, y_val = (tf.constant(a) for a in (data.x, data.y, data.x_val, data.y_val))

    figures: dict[str, float] = {"models": len(specs)}
    started = time.perf_counter()
    models = fused_models.FusedModels(specs, splits.input_shape, splits.outputs)
    figures["build"] = time.perf_counter() - started
    figures["architectures"] = len({id(step) for step in models.steps})
    started = time.perf_counter()
    models.train_epoch(x, y)
    figures["first epoch (trace, optimize, run)"] = time.perf_counter() - started
    started = time.perf_counter()
    models.evaluate(x_val, y_val)
    figures["first evaluation"] = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(epochs):
        models.train_epoch(x, y)
    figures["steady epoch"] = (time.perf_counter() - started) / epochs
    started = time.perf_counter()
    for _ in range(epochs):
        models.evaluate(x_val, y_val)
    figures["steady evaluation"] = (time.perf_counter() - started) / epochs
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=int, default=0, choices=(0, 1))
    parser.add_argument("--epochs", type=int, default=5, help="steady epochs timed")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each side; medians are printed")
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # one side, in a child
    args = parser.parse_args()
    if args.side:
        print(json.dumps(measure(args.side, args.pack, args.epochs)))
        return
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for _ in range(args.rounds):
        for side in SIDES:
            child = [sys.executable, __file__, "--side", side, "--pack", str(args.pack)]
            child += ["--epochs", str(args.epochs)]
            output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            runs[side].append(json.loads(output.strip().splitlines()[-1]))
    fixed = ("build", "first epoch (trace, optimize, run)", "first evaluation")
    for figures in (f for side_runs in runs.values() for f in side_runs):
        figures["before the second epoch"] = sum(figures[key] for key in fixed)
    setting = f"study=series, pack {args.pack} of 2, one thread, {args.epochs} steady epochs timed, "
    setting += f"medians of {args.rounds} rounds"
    print(f"{setting}\n")
    print(f"{'':36s}" + "".join(f"{title:>20s}" for title in SIDES.values()))
    rows = []
    for key in runs["engine"][0]:
        unit = "" if key in ("models", "architectures") else " s"
        number = "{:.0f}" if not unit else "{:.3f}"
        medians = [statistics.median(f[key] for f in runs[side]) for side in SIDES]
        print(f"{key:36s}" + "".join(f"{number.format(m) + unit:>20s}" for m in medians))
        rows.append([key, unit.strip(), *medians])
    title = f"Where a fused pack's time goes: {setting}"
    record("fused_pack_start", [table(title, ["", "unit", *SIDES.values()], rows)], path=args.out)


if __name__ == "__main__":
    main()
