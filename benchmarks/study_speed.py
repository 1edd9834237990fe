"""Side by side: the seed study as plain scripts vs ``ablab-train study=seed``.

    python benchmarks/study_speed.py                        # 100 epochs, seeds 0 1 2 (~10 min)
    python benchmarks/study_speed.py --epochs 5 --seeds 0   # a quick look
    python benchmarks/study_speed.py --scaling --json out.json

(a) runs benchmarks/naive_seed.py once per arm x seed, sequentially, one process each;
(b) runs ``ablab-train study=seed`` with default settings (parallel launcher, report included)
into a fresh MLflow store. Both see the same images: the embedded mnist_5k split, exported once.
Prints wall times, their ratio, per-arm test accuracy from each, the framework overhead
(config composition + MLflow logging, replayed and timed) as a share of a run, and training
throughput against this machine's measured matmul FLOP rate.
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

ROOT = Path(__file__).resolve().parents[1]
NAIVE = ROOT / "benchmarks" / "naive_seed.py"
ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")
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


def run_ablab(workdir: Path, epochs: int, seeds: list[int]) -> tuple[float, pd.DataFrame, str]:
    workdir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    seed_list = "[" + ",".join(map(str, seeds)) + "]"
    command = [str(ABLAB_TRAIN), "study=seed", f"trainer.epochs={epochs}", f"study.seeds={seed_list}"]
    command.append(f"hydra.sweep.dir={workdir / 'multirun'}")
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
            "test_accuracy": r.data.metrics["test_accuracy"],
            "fit_seconds": r.data.metrics["train_seconds"],
            "run_seconds": (r.info.end_time - r.info.start_time) / 1000,
        }
        for r in runs
    )
    return wall, frame, result.stdout


def framework_overhead_seconds(epochs: int, repeats: int = 5) -> tuple[float, float]:
    """Time what ablab adds to one run: composing its config, and logging what train() logs."""
    import matplotlib.pyplot as plt
    from hydra import compose, initialize_config_dir

    from ablab.config import register_schemas
    from ablab.curves import learning_curve_figure
    from ablab.tracking import RunRecorder, ensure_experiment, flatten_params, recorded_run

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
                recorder.log_params(flatten_params(cfg))
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
    parser.add_argument("--scaling", action="store_true", help="also time ablab at 1x and 2x the runs")
    parser.add_argument("--skip-naive", action="store_true", help="only time ablab")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()

    results: dict = {"epochs": args.epochs, "seeds": args.seeds, "runs": len(ARMS) * len(args.seeds)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_train, n_test = export_split(tmp / "split.npz")
        fit_samples = int(n_train * 0.7)  # validation_split 0.3 holds out the rest
        print(f"data: mnist_5k, {fit_samples} training samples/epoch, {args.epochs} epochs, "
              f"seeds {args.seeds}, {results['runs']} runs per side")  # fmt: skip

        if not args.skip_naive:
            naive_wall, naive = run_naive(tmp / "split.npz", args.epochs, args.seeds)
            results["naive_wall_s"] = naive_wall
        ablab_wall, ablab, _ = run_ablab(tmp / "ablab", args.epochs, args.seeds)
        results["ablab_wall_s"] = ablab_wall
        if args.scaling:
            half = args.seeds[: max(1, len(args.seeds) // 2)]
            double = [*args.seeds, *[s + 1000 for s in args.seeds]]
            results["scaling"] = {
                len(ARMS) * len(half): run_ablab(tmp / "half", args.epochs, half)[0],
                len(ARMS) * len(args.seeds): ablab_wall,
                len(ARMS) * len(double): run_ablab(tmp / "double", args.epochs, double)[0],
            }

    print("\n== wall time ==")
    if not args.skip_naive:
        print(f"(a) plain script, one process per run, sequential: {naive_wall:8.1f} s")
    print(f"(b) ablab-train study=seed (defaults, report incl.): {ablab_wall:8.1f} s")
    if not args.skip_naive:
        results["speedup"] = naive_wall / ablab_wall
        print(f"ratio a/b: {results['speedup']:.2f}x")

    print("\n== test accuracy per arm (mean over seeds) ==")
    table = pd.DataFrame({"ablab": ablab.groupby("arm")["test_accuracy"].mean()})
    if not args.skip_naive:
        table["plain script"] = naive.groupby("arm")["test_accuracy"].mean()
    table = table.reindex(ARMS)
    print(table.round(4).to_string())
    results["accuracy"] = table.to_dict()

    compose_s, logging_s = framework_overhead_seconds(args.epochs)
    run_s = float(ablab["run_seconds"].mean())
    overhead = (compose_s + logging_s) / run_s
    results.update(compose_s=compose_s, logging_s=logging_s, mean_run_s=run_s, overhead_fraction=overhead)
    print("\n== framework overhead per run ==")
    print(f"compose {compose_s * 1000:.0f} ms + MLflow logging {logging_s * 1000:.0f} ms "
          f"= {overhead:.1%} of a {run_s:.1f} s run")  # fmt: skip

    peak = matmul_flops()
    per_job = fit_samples * args.epochs / ablab["fit_seconds"]
    limit = peak / TRAIN_FLOPS_PER_SAMPLE
    results.update(peak_flops=peak, samples_per_s_per_job=float(per_job.mean()), samples_per_s_limit=limit)
    print("\n== throughput ==")
    print(f"measured matmul rate: {peak / 1e9:.1f} GFLOP/s -> limit {limit:,.0f} training samples/s "
          f"at {TRAIN_FLOPS_PER_SAMPLE / 1e6:.2f} MFLOP/sample")  # fmt: skip
    print(f"ablab: {per_job.mean():,.0f} samples/s per job ({per_job.mean() / limit:.1%} of the limit), "
          f"{len(ablab)} jobs")  # fmt: skip
    if args.scaling:
        print("\n== scaling (runs -> wall s) ==")
        for runs, wall in results["scaling"].items():
            print(f"{runs:4d} runs: {wall:7.1f} s ({wall / runs:.1f} s/run)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
