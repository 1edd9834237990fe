"""The fused engine on JAX against the fused engine on TensorFlow, on the CPU: each pack of a
study as the sweeper deals it (two workers, packs weighed by step cost), trained by one process
per backend with the threads a study worker has (``--threads``, default 1: the study runs two
workers on this 2-core machine).

Per pack and backend: the first epoch (it compiles: XLA on JAX, tracing and graph
optimization on TensorFlow), the steady epoch (median over the later ones, validation
included), seconds per epoch per model, training samples/s over the pack's models, and that
throughput as FLOPs (6 per weight and training sample, exact for Dense layers) against the
machine's float32 matmul rate on all cores (``study_speed.matmul_flops``), as
docs/development/performance.md reports the TensorFlow engine. The backends take turns for
``--rounds`` rounds in fresh processes, each figure the median over them with its spread.

    .venv/bin/python benchmarks/jax_fused.py --study seed --epochs 5 --rounds 2

Writes benchmarks/results/jax_fused_<study>.json (``--out`` elsewhere). ``compare`` is the
function another benchmark calls.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results import record, table

BACKENDS = ("tensorflow", "jax")
FLOPS_PER_PARAM_AND_SAMPLE = 6


def study_packs(study: str) -> list[list]:
    """The model specs of each pack the sweeper deals for ``study=<study>`` to two workers."""
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
        spec = OmegaConf.to_container(compose(config_name="train", overrides=[f"study={study}"]).study)
        for arm in plan_arms(spec["baseline"], spec["factors"], spec["design"]):
            settings = settings_overrides(arm.settings, frozenset(arm.settings))  # every factor a group
            for seed in spec["seeds"]:
                overrides = [f"study={study}", *settings, f"trainer.seed={seed}"]
                jobs.append(argparse.Namespace(config=compose(config_name="train", overrides=overrides)))
    probes = ProbeModels()

    def cost(job) -> float:
        return step_cost(probes(job.config)) * int(job.config.ensemble.size)

    packs, alone = plan_packs(jobs, workers=2, max_size=None, cost=cost)
    out = []
    for pack in [*packs, *([job] for job in alone)]:
        specs = []
        for job in pack:
            seeds = member_seeds(int(job.config.trainer.seed), int(job.config.ensemble.size))
            specs += [ModelSpec(job.config, seed, vote=len(seeds) > 1) for seed in seeds]
        out.append(specs)
    return out


def measure(study: str, pack: int, epochs: int, threads: int) -> dict[str, float]:
    """Train pack ``pack`` of the study for ``epochs`` on this process' Keras backend, with the
    backend's fused engine; its figures."""
    import keras

    from ablab.datasets import load_dataset
    from ablab.datasets.scaling import scale_splits
    from ablab.run.runtime import configure_threads

    backend = keras.backend.backend()
    if backend == "tensorflow":
        configure_threads(threads)
    specs = study_packs(study)[pack]
    for spec in specs:
        spec.config.trainer.epochs = epochs
    cfg = specs[0].config
    splits = scale_splits(load_dataset(cfg.dataset), cfg.scaling.name, cfg.trainer.validation_split)
    engine = importlib.import_module(
        f"ablab.run.engines.{importlib.import_module(f'ablab.run.backends.{backend}').FUSED_ENGINE}"
    )
    ends: dict[int, float] = {}

    def on_epoch(index: int, epoch: int, values) -> None:
        ends[epoch] = time.perf_counter()  # the last model's log of the epoch: the epoch is over

    started = time.perf_counter()
    fitted = engine.fit_models(specs, splits, on_epoch)
    total = time.perf_counter() - started
    epoch_seconds = [ends[1] - started] + [ends[e] - ends[e - 1] for e in range(2, epochs + 1)]
    steady = statistics.median(epoch_seconds[1:])
    rows = round(len(splits.x_train) * (1 - cfg.trainer.validation_split))
    params = sum(f.param_count for f in fitted)
    return {
        "models": len(specs),
        "first epoch s": epoch_seconds[0],
        "steady epoch s": steady,
        "s per epoch per model": steady / len(specs),
        "samples/s": len(specs) * rows / steady,
        "flops/s": FLOPS_PER_PARAM_AND_SAMPLE * params * rows / steady,
        "fit s (build, epochs, test)": total,
        "mean test_accuracy": statistics.fmean(f.test.get("test_accuracy", float("nan")) for f in fitted),
    }


def _in_process(backend: str, study: str, pack: int, epochs: int, threads: int) -> dict[str, float]:
    """``measure`` in a fresh process on ``backend`` (Keras picks its backend at first import)."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    if backend == "jax":  # XLA's CPU thread pool, as a study worker's TensorFlow gets configure_threads
        env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    command = [sys.executable, __file__, "--measure", study, str(pack), str(epochs), str(threads)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(study: str, epochs: int, rounds: int, threads: int, packs: list[int] | None = None) -> dict:
    """Both backends' figures per pack: the median over ``rounds`` turns and the spread (max - min)."""
    from study_speed import matmul_flops

    indices = packs if packs is not None else range(len(study_packs(study)))
    per_pack = {}
    for pack in indices:
        samples: dict[str, list[dict]] = {b: [] for b in BACKENDS}
        for _ in range(rounds):
            for backend in BACKENDS:
                samples[backend].append(_in_process(backend, study, pack, epochs, threads))
                print(f"pack {pack} {backend}: {samples[backend][-1]}", flush=True)
        per_pack[pack] = {
            b: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
            | {
                "spread steady epoch s": max(s["steady epoch s"] for s in runs)
                - min(s["steady epoch s"] for s in runs)
            }
            for b, runs in samples.items()
        }
    return {
        "study": study,
        "epochs": epochs,
        "rounds": rounds,
        "threads": threads,
        "peak_flops": matmul_flops(),
        "packs": per_pack,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="seed")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--packs", type=int, nargs="*", help="pack indices (default: all)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        study, pack, epochs, threads = args.measure
        print(json.dumps(measure(study, int(pack), int(epochs), int(threads))))
        return
    result = compare(args.study, args.epochs, args.rounds, args.threads, args.packs)
    peak = result["peak_flops"]
    print(f"measured matmul rate (all cores, TensorFlow): {peak / 1e9:.1f} GFLOP/s")
    columns = [
        "pack",
        "backend",
        "models",
        "first epoch s",
        "steady epoch s",
        "spread s",
        "s/epoch/model",
        "samples/s",
        "% of matmul rate",
        "mean test acc",
    ]
    rows = []
    for pack, backends in result["packs"].items():
        for backend, f in backends.items():
            rows.append(
                [
                    pack,
                    backend,
                    f["models"],
                    round(f["first epoch s"], 2),
                    round(f["steady epoch s"], 3),
                    round(f["spread steady epoch s"], 3),
                    round(f["s per epoch per model"], 4),
                    round(f["samples/s"]),
                    round(100 * f["flops/s"] / peak, 1),
                    round(f["mean test_accuracy"], 4),
                ]
            )
            print("  ".join(f"{c}={v}" for c, v in zip(columns, rows[-1], strict=True)))
    title = (
        f"study={args.study}: fused on JAX vs fused on TensorFlow, CPU, {args.threads} thread(s) per pack, "
        f"{args.epochs} epochs, median of {args.rounds} rounds"
    )
    tables = [
        table(title, columns, rows),
        table("Measured float32 matmul rate, all cores", ["GFLOP/s"], [[peak / 1e9]]),
    ]
    record(f"jax_fused_{args.study}", tables, figures=result, path=args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
