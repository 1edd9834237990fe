"""Side by side: the seed study as plain scripts vs ``ablab-train study=seed`` on each engine.

    python benchmarks/study_speed.py                        # 100 epochs, seeds 0 1 2 (~18 min)
    python benchmarks/study_speed.py --epochs 5 --seeds 0   # a quick look
    python benchmarks/study_speed.py --skip-naive --seeds 0 1 2 3 4   # engine equivalence
    python benchmarks/study_speed.py --engines fused --skip-naive --scaling --json out.json

(a) runs benchmarks/naive_seed.py once per arm x seed, sequentially, one process each;
then ``ablab-train study=seed`` with ``trainer.engine=keras`` and ``=fused`` (parallel launcher,
report included), each into a fresh MLflow store. All see the same images: the embedded
mnist_5k split. Prints wall times and ratios, per-arm test accuracy from each, the engines'
equivalence (Welch two-sample t-test per arm, ordering of arms), the framework overhead
(config composition + MLflow logging, replayed and timed) as a share of a Keras run, and
training throughput against this machine's measured matmul FLOP rate.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.fused.equivalence import compare_engines, same_ordering

ROOT = Path(__file__).resolve().parents[1]
NAIVE = ROOT / "benchmarks" / "naive_seed.py"
ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")
ENGINES = ("keras", "fused")
WORKERS = os.cpu_count() or 1  # the study presets' joblib launcher: one worker process per core
ARMS = ["baseline", "initializer=he_normal", "activation=relu", "optimizer=adam"]
PARAMS = 47_410  # the seed MLP
TRAIN_FLOPS_PER_SAMPLE = 6 * PARAMS  # forward 2x + backward 4x the weights, per training sample


def export_split(path: Path) -> tuple[int, int]:
    """Write ablab's default split to .npz so the plain script trains on the same images."""
    from omegaconf import OmegaConf

    from ablab.data import load_dataset

    cfg = OmegaConf.load(ROOT / "conf" / "dataset" / "mnist_5k.yaml")
    splits = load_dataset(cfg, num_classes=10)
    np.savez(path, x_train=splits.x_train, y_train=splits.y_train, x_test=splits.x_test, y_test=splits.y_test)
    return len(splits.x_train), len(splits.x_test)


def run_naive(data: Path, epochs: int, seeds: list[int]) -> tuple[float, pd.DataFrame]:
    rows, started = [], time.perf_counter()
    for arm in ARMS:
        for seed in seeds:
            command = [sys.executable, str(NAIVE), "--arm", arm, "--seed", str(seed)]
            out = subprocess.run(
                [*command, "--epochs", str(epochs), "--data", str(data)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return time.perf_counter() - started, pd.DataFrame(rows)


def run_ablab(workdir: Path, epochs: int, seeds: list[int], engine: str) -> tuple[float, pd.DataFrame]:
    workdir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    seed_list = "[" + ",".join(map(str, seeds)) + "]"
    command = [str(ABLAB_TRAIN), "study=seed", f"trainer.engine={engine}", f"trainer.epochs={epochs}"]
    command += [f"study.seeds={seed_list}", f"hydra.sweep.dir={workdir / 'multirun'}"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ablab-train failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("seed")
    runs = client.search_runs([experiment.experiment_id], "tags.`ablab.arm` != ''", max_results=1000)
    frame = pd.DataFrame(
        {
            "arm": r.data.tags["ablab.arm"],
            "seed": int(r.data.tags["ablab.seed"]),
            "engine": r.data.tags["ablab.engine"],
            "test_accuracy": r.data.metrics["test_accuracy"],
            "fit_seconds": r.data.metrics["train_seconds"],
            "run_seconds": (r.info.end_time - r.info.start_time) / 1000,
        }
        for r in runs
    )
    return wall, frame


def framework_overhead_seconds(epochs: int, repeats: int = 5) -> tuple[float, float]:
    """Time what ablab adds to one run: composing its config, and logging what train() logs."""
    import matplotlib.pyplot as plt
    from hydra import compose, initialize_config_dir

    from ablab.config import register_schemas
    from ablab.curves import learning_curve_figure
    from ablab.tracking import RunRecorder, config_entries, ensure_experiment, recorded_run

    register_schemas()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        compose("train", overrides=["activation=relu"])  # warm-up
        started = time.perf_counter()
        for seed in range(repeats):
            cfg = compose("train", overrides=["activation=relu", f"trainer.seed={seed}"])
        compose_seconds = (time.perf_counter() - started) / repeats

    history = {k: list(np.linspace(0, 1, epochs)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    with tempfile.TemporaryDirectory() as store:
        client = MlflowClient(f"sqlite:///{store}/mlflow.db")
        experiment_id = ensure_experiment(client, "overhead")
        started = time.perf_counter()
        for _ in range(repeats):
            with recorded_run(client, experiment_id, "replay", {"a": "b"}) as recorder:
                recorder: RunRecorder
                recorder.log_params(config_entries(cfg)[0])
                recorder.log_text("config", "config.yaml")
                recorder.log_text("summary", "model_summary.txt")
                for epoch in range(epochs):
                    recorder.log_epoch(epoch + 1, {k: v[epoch] for k, v in history.items()})
                recorder.log_metrics({"test_loss": 1.0, "test_accuracy": 0.5, "train_seconds": 1.0})
                figure = learning_curve_figure(history, "replay")
                recorder.log_figure(figure, "learning_curve.png")
                plt.close(figure)
        logging_seconds = (time.perf_counter() - started) / repeats
    return compose_seconds, logging_seconds


def matmul_flops(seconds: float = 2.0) -> float:
    """This machine's float32 matmul rate with TF on all cores: the FLOP-based ceiling."""
    import tensorflow as tf

    a = tf.random.normal((1024, 1024))
    tf.matmul(a, a).numpy()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        tf.matmul(a, a).numpy()
        count += 1
    return count * 2 * 1024**3 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--engines", nargs="+", choices=ENGINES, default=list(ENGINES), help="ablab engines to time"
    )
    parser.add_argument(
        "--scaling", action="store_true", help="also time each engine at 1/2x and 2x the runs"
    )
    parser.add_argument("--skip-naive", action="store_true", help="only time ablab")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()

    results: dict = {"epochs": args.epochs, "seeds": args.seeds, "runs": len(ARMS) * len(args.seeds)}
    walls: dict[str, float] = {}
    frames: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_train, n_test = export_split(tmp / "split.npz")
        fit_samples = int(n_train * 0.7)  # validation_split 0.3 holds out the rest
        print(f"data: mnist_5k, {fit_samples} training samples/epoch, {args.epochs} epochs, "
              f"seeds {args.seeds}, {results['runs']} runs per side")  # fmt: skip

        if not args.skip_naive:
            walls["plain script"], frames["plain script"] = run_naive(
                tmp / "split.npz", args.epochs, args.seeds
            )
        for engine in args.engines:
            walls[engine], frames[engine] = run_ablab(tmp / engine, args.epochs, args.seeds, engine)
        if args.scaling:
            half = args.seeds[: max(1, len(args.seeds) // 2)]
            double = [*args.seeds, *[s + 1000 for s in args.seeds]]
            results["scaling"] = {
                engine: {
                    len(ARMS) * len(half): run_ablab(tmp / f"{engine}-half", args.epochs, half, engine)[0],
                    len(ARMS) * len(args.seeds): walls[engine],
                    len(ARMS) * len(double): run_ablab(tmp / f"{engine}-double", args.epochs, double, engine)[
                        0
                    ],
                }
                for engine in args.engines
            }
    results["wall_s"] = walls

    print("\n== wall time ==")
    if "plain script" in walls:
        print(f"(a) plain script, one process per run, sequential: {walls['plain script']:8.1f} s")
    for engine in args.engines:
        line = f"ablab-train study=seed trainer.engine={engine} (report incl.): {walls[engine]:8.1f} s"
        if "plain script" in walls:
            results[f"speedup_{engine}"] = walls["plain script"] / walls[engine]
            line += f"   a / this: {results[f'speedup_{engine}']:.2f}x"
        print(line)

    print("\n== test accuracy per arm (mean over seeds) ==")
    table = pd.DataFrame(
        {side: frame.groupby("arm")["test_accuracy"].mean() for side, frame in frames.items()}
    )
    table = table.reindex(ARMS)
    print(table.round(4).to_string())
    results["accuracy"] = table.to_dict()

    if set(ENGINES) <= set(frames):
        runs = pd.concat([frames[e] for e in ENGINES]).set_index("arm").loc[ARMS].reset_index()
        equivalence = compare_engines(runs)
        ordered = same_ordering(equivalence)
        print(f"\n== engines: keras vs fused, {len(args.seeds)} seeds per arm (Welch two-sample t-test) ==")
        print(equivalence.round({"keras": 4, "fused": 4, "difference": 4, "p_welch": 4}).to_string())
        print(f"same ordering of arms: {'yes' if ordered else 'NO'}")
        results["equivalence"] = equivalence.reset_index().to_dict(orient="records")
        results["same_ordering"] = ordered

    if "keras" in frames:
        compose_s, logging_s = framework_overhead_seconds(args.epochs)
        run_s = float(frames["keras"]["run_seconds"].mean())
        overhead = (compose_s + logging_s) / run_s
        results.update(compose_s=compose_s, logging_s=logging_s, mean_run_s=run_s, overhead_fraction=overhead)
        print("\n== framework overhead per run (keras engine) ==")
        print(f"compose {compose_s * 1000:.0f} ms + MLflow logging {logging_s * 1000:.0f} ms "
              f"= {overhead:.1%} of a {run_s:.1f} s run")  # fmt: skip

    peak = matmul_flops()
    limit = peak / TRAIN_FLOPS_PER_SAMPLE
    results.update(peak_flops=peak, samples_per_s_limit=limit, samples_per_s_per_process={})
    print("\n== throughput ==")
    print(f"measured matmul rate (all cores): {peak / 1e9:.1f} GFLOP/s -> limit {limit:,.0f} training "
          f"samples/s at {TRAIN_FLOPS_PER_SAMPLE / 1e6:.2f} MFLOP/sample")  # fmt: skip
    for engine in args.engines:
        # A fused run's train_seconds is its equal share of its pack's fit time: per process alike.
        rate = float((fit_samples * args.epochs / frames[engine]["fit_seconds"]).mean())
        results["samples_per_s_per_process"][engine] = rate
        print(f"{engine}: {rate:,.0f} samples/s per worker process ({rate / limit:.1%} of the machine's "
              f"limit; {WORKERS} processes at once: {WORKERS * rate / limit:.1%})")  # fmt: skip
    if args.scaling:
        print("\n== scaling (runs -> wall s) ==")
        for engine, sizes in results["scaling"].items():
            for runs_count, wall in sizes.items():
                print(f"{engine}: {runs_count:4d} runs: {wall:7.1f} s ({wall / runs_count:.1f} s/run)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
