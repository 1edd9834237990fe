"""Side by side: a study as plain scripts (seed only) vs ``ablab-train study=...`` on each engine.

    python benchmarks/study_speed.py                        # study=seed, 100 epochs, seeds 0 1 2
    python benchmarks/study_speed.py --epochs 5 --seeds 0   # a quick look
    python benchmarks/study_speed.py --study series --skip-naive --seeds 0 1 2 3 4  # + equivalence
    python benchmarks/study_speed.py --study image --skip-naive    # the example project's CNN study
    python benchmarks/study_speed.py --engines fused --skip-naive --scaling --out out.json

(a) runs benchmarks/naive_seed.py once per arm x seed, sequentially, one process each (study=seed
only); then ``ablab-train study=<study>`` with ``trainer.engine=keras`` and ``=fused`` (parallel
launcher, report included), each into a fresh MLflow store. All see the same images: the
embedded mnist_5k split. Prints wall times and ratios, which engine trained each arm, per-arm
test accuracy from each, the engines' equivalence (Welch two-sample t-test per arm, ordering of
arms), the framework overhead (config composition + MLflow logging, replayed and timed) as a
share of a Keras run, and training throughput against this machine's measured matmul FLOP rate.
``--study image`` runs examples/conf/study/image.yaml with the example project on the path.

Writes benchmarks/results/study_speed-<study>.json (``--out`` elsewhere; ``--json`` is the same
option); a run other than the study's full one says how in the name, e.g.
study_speed-seed-fused-epochs5.json for ``--engines fused --epochs 5``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from engine_agreement import compare_engines, same_ordering
from mlflow.tracking import MlflowClient
from results import record, table

from ablab.config.schema import ENGINES
from ablab.tracking.store import empty_store
from ablab.tracking.tags import ARM, DEVICE, ENGINE, SEED

ROOT = Path(__file__).resolve().parents[1]
NAIVE = ROOT / "benchmarks" / "naive_seed.py"
ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")

WORKERS = os.cpu_count() or 1  # the study presets' joblib launcher: one worker process per core
SEED_ARMS = ["baseline", "initializer=he_normal", "activation=relu", "optimizer=adam"]
# Forward 2x + backward 4x the weights, per training sample: exact for Dense layers; a conv
# layer reuses its weights at every position, so for the CNN study it is no FLOP count.
FLOPS_PER_PARAM_AND_SAMPLE = 6
EXAMPLE = ROOT / "examples"
STUDIES = {"seed": "seed", "series": "series", "image": "example_image"}  # option -> experiment
STUDY_EPOCHS = {"seed": 100, "series": 100, "image": 5}  # each preset's own
SEEDS = [0, 1, 2]


def export_split(path: Path) -> tuple[int, int]:
    """Write ablab's default split to .npz so the plain script trains on the same images."""
    from omegaconf import OmegaConf

    from ablab.datasets import load_dataset

    cfg = OmegaConf.load(ROOT / "conf" / "dataset" / "mnist_5k.yaml")
    splits = load_dataset(cfg)
    x_train, x_test = (x.reshape(len(x), -1) for x in (splits.x_train, splits.x_test))  # the script's 784
    np.savez(path, x_train=x_train, y_train=splits.y_train, x_test=x_test, y_test=splits.y_test)
    return len(splits.x_train), len(splits.x_test)


def run_naive(data: Path, epochs: int, seeds: list[int]) -> tuple[float, pd.DataFrame]:
    rows, started = [], time.perf_counter()
    for arm in SEED_ARMS:
        for seed in seeds:
            command = [sys.executable, str(NAIVE), "--arm", arm, "--seed", str(seed)]
            out = subprocess.run(
                [*command, "--epochs", str(epochs), "--data", str(data)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return time.perf_counter() - started, pd.DataFrame(rows)


def run_ablab(
    workdir: Path, study: str, epochs: int, seeds: list[int], engine: str, overrides: Sequence[str] = ()
) -> tuple[float, pd.DataFrame]:
    workdir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if study == "image":  # the example project's configs and code, as if installed
        env["ABLAB_CONFIG_DIR"] = str(EXAMPLE / "conf")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE / "src"), env.get("PYTHONPATH")]))
    seed_list = "[" + ",".join(map(str, seeds)) + "]"
    command = [str(ABLAB_TRAIN), f"study={study}", f"trainer.engine={engine}", f"trainer.epochs={epochs}"]
    command += [f"study.seeds={seed_list}", f"hydra.sweep.dir={workdir / 'multirun'}", *overrides]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ablab-train failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(STUDIES[study])
    runs = client.search_runs([experiment.experiment_id], f"tags.`{ARM}` != ''", max_results=1000)
    frame = pd.DataFrame(
        {
            "arm": r.data.tags[ARM],
            "seed": int(r.data.tags[SEED]),
            "engine": r.data.tags[ENGINE],
            "device": r.data.tags.get(DEVICE, ""),
            "test_accuracy": r.data.metrics["test_accuracy"],
            "fit_seconds": r.data.metrics["train_seconds"],
            "param_count": r.data.metrics["param_count"],
            "run_seconds": (r.info.end_time - r.info.start_time) / 1000,
        }
        for r in sorted(runs, key=lambda r: r.info.start_time)  # arms in the study's order
    )
    return wall, frame


def framework_overhead_seconds(epochs: int, repeats: int = 5) -> tuple[float, float]:
    """Time what ablab adds to one run: composing its config, and logging what train() logs."""
    import matplotlib.pyplot as plt
    from hydra import compose, initialize_config_dir

    from ablab.config.schema import register_schemas
    from ablab.tracking.client import config_entries, ensure_experiment, finish_run, start_run
    from ablab.tracking.learning_curve import learning_curve_figure

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
            recorder = start_run(client, experiment_id, "replay", {"a": "b"})
            recorder.log_params(config_entries(cfg)[0])
            recorder.log_text("config", "config.yaml")
            recorder.log_text("summary", "model_summary.txt")
            for epoch in range(epochs):
                recorder.log_epoch(epoch + 1, {k: v[epoch] for k, v in history.items()})
            recorder.log_metrics({"test_loss": 1.0, "test_accuracy": 0.5, "train_seconds": 1.0})
            figure = learning_curve_figure(history, "replay")
            recorder.log_figure(figure, "learning_curve.png")
            plt.close(figure)
            finish_run(recorder)
        logging_seconds = (time.perf_counter() - started) / repeats
    return compose_seconds, logging_seconds


def matmul_flops(seconds: float = 2.0) -> float:
    """This machine's float32 matmul rate with TF on all cores: the FLOP-based ceiling."""
    from ablab.run.backends import use_backend

    use_backend("tensorflow")  # its start-up notices kept out of the printed figures
    import tensorflow as tf

    a = tf.random.normal((1024, 1024))
    tf.matmul(a, a).numpy()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        tf.matmul(a, a).numpy()
        count += 1
    return count * 2 * 1024**3 / (time.perf_counter() - started)


def result_name(args: argparse.Namespace, epochs: int) -> str:
    """``study_speed-<study>``, plus what sets this run apart from the study's full one (engines,
    no plain script, epochs, seeds, scaling), so that a quick run never overwrites it."""
    parts = ["study_speed", args.study]
    if set(args.engines) != set(ENGINES):
        parts += args.engines
    if args.study == "seed" and args.skip_naive:
        parts.append("skip-naive")
    if epochs != STUDY_EPOCHS[args.study]:
        parts.append(f"epochs{epochs}")
    if args.seeds != SEEDS:
        parts.append("seeds" + "_".join(map(str, args.seeds)))
    if args.scaling:
        parts.append("scaling")
    return "-".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=STUDIES, default="seed")
    parser.add_argument("--epochs", type=int, default=None, help="default: the study's own")
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument(
        "--engines", nargs="+", choices=ENGINES, default=list(ENGINES), help="ablab engines to time"
    )
    parser.add_argument(
        "--scaling", action="store_true", help="also time each engine at 1/2x and 2x the runs"
    )
    parser.add_argument(
        "--skip-naive", action="store_true", help="only time ablab (always, unless study=seed)"
    )
    parser.add_argument(
        "--out", "--json", type=Path, help="the result file (default: benchmarks/results/, named by the run)"
    )
    args = parser.parse_args()
    epochs = args.epochs or STUDY_EPOCHS[args.study]
    naive = args.study == "seed" and not args.skip_naive

    results: dict = {"study": args.study, "epochs": epochs, "seeds": args.seeds}
    walls: dict[str, float] = {}
    frames: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_train, n_test = export_split(tmp / "split.npz")
        empty_store()  # ablab's empty MLflow store, made once per machine: no side is timed making it
        fit_samples = int(n_train * 0.7)  # validation_split 0.3 holds out the rest
        setting = f"study={args.study}, data: mnist_5k, {fit_samples} training samples/epoch, "
        setting += f"{epochs} epochs, seeds {args.seeds}"
        print(setting)

        if naive:
            walls["plain script"], frames["plain script"] = run_naive(tmp / "split.npz", epochs, args.seeds)
        for engine in args.engines:
            walls[engine], frames[engine] = run_ablab(tmp / engine, args.study, epochs, args.seeds, engine)
        if args.scaling:
            half = args.seeds[: max(1, len(args.seeds) // 2)]
            double = [*args.seeds, *[s + 1000 for s in args.seeds]]
            results["scaling"] = {
                engine: {
                    len(seeds): run_ablab(tmp / f"{engine}-{len(seeds)}", args.study, epochs, seeds, engine)[
                        0
                    ]
                    for seeds in (half, double)
                }
                | {len(args.seeds): walls[engine]}
                for engine in args.engines
            }
    results["wall_s"] = walls
    results["runs"] = {side: len(frame) for side, frame in frames.items()}
    sides = {"plain script": "plain script, one process per run, sequential"}
    sides |= {engine: f"ablab-train trainer.engine={engine}, report incl." for engine in args.engines}
    wall_rows = [[sides[side], results["runs"][side], wall] for side, wall in walls.items()]
    tables = [table(f"Wall time: {setting}", ["side", "runs", "wall (s)"], wall_rows)]

    print("\n== wall time ==")
    ratios = []
    if "plain script" in walls:
        print(f"(a) plain script, one process per run, sequential: {walls['plain script']:8.1f} s")
    for engine in args.engines:
        line = f"ablab-train study={args.study} trainer.engine={engine} ({len(frames[engine])} runs, "
        line += f"report incl.): {walls[engine]:8.1f} s"
        if "plain script" in walls:
            results[f"speedup_{engine}"] = walls["plain script"] / walls[engine]
            ratios.append([f"plain script / {engine}", results[f"speedup_{engine}"]])
            line += f"   a / this: {results[f'speedup_{engine}']:.2f}x"
        print(line)
    if set(ENGINES) <= set(walls):
        results["keras_over_fused"] = walls["keras"] / walls["fused"]
        ratios.append(["keras / fused", results["keras_over_fused"]])
        print(f"keras / fused: {results['keras_over_fused']:.2f}x")
    if ratios:
        tables.append(table("Wall-time ratios", ["wall time", "ratio"], ratios))

    arms = SEED_ARMS if args.study == "seed" else list(dict.fromkeys(frames[args.engines[0]]["arm"]))
    if "fused" in frames:
        engines_used = frames["fused"].groupby("arm")["engine"].agg(lambda e: ",".join(sorted(set(e))))
        results["fused_arms_trained_by"] = engines_used.to_dict()
        fell_back = sorted(arm for arm, used in engines_used.items() if used != "fused")
        print(f"\narms of the fused launch that fell back to keras: {', '.join(fell_back) or 'none'}")
        trained_by = [[arm, engines_used[arm]] for arm in arms]
        tables.append(
            table("The engines that trained each arm of the fused launch", ["arm", "engines"], trained_by)
        )

    print("\n== test accuracy per arm (mean over seeds) ==")
    accuracy = pd.DataFrame(
        {side: frame.groupby("arm")["test_accuracy"].mean() for side, frame in frames.items()}
    )
    accuracy = accuracy.reindex(arms)
    print(accuracy.round(4).to_string())
    results["accuracy"] = accuracy.to_dict()
    tables.append(
        table("Test accuracy per arm, mean over seeds", ["arm", *accuracy], list(accuracy.itertuples()))
    )

    if set(ENGINES) <= set(frames):
        runs = pd.concat([frames[e] for e in ENGINES]).set_index("arm").loc[arms].reset_index()
        equivalence = compare_engines(runs)
        same = "yes" if same_ordering(equivalence) else "NO"
        test = f"keras vs fused, {len(args.seeds)} seeds per arm (Welch two-sample t-test)"
        print(f"\n== engines: {test} ==")
        print(equivalence.round({"keras": 4, "fused": 4, "difference": 4, "p_welch": 4}).to_string())
        print(f"same ordering of arms: {same}")
        results["equivalence"] = equivalence.reset_index().to_dict(orient="records")
        results["same_ordering"] = same == "yes"
        title = f"Engines: {test}; same ordering of arms: {same}"
        tables.append(table(title, ["arm", *equivalence], list(equivalence.itertuples())))

    if "keras" in frames:
        compose_s, logging_s = framework_overhead_seconds(epochs)
        run_s = float(frames["keras"]["run_seconds"].mean())
        overhead = (compose_s + logging_s) / run_s
        results.update(compose_s=compose_s, logging_s=logging_s, mean_run_s=run_s, overhead_fraction=overhead)
        print("\n== framework overhead per run (keras engine) ==")
        print(f"compose {compose_s * 1000:.0f} ms + MLflow logging {logging_s * 1000:.0f} ms "
              f"= {overhead:.1%} of a {run_s:.1f} s run")  # fmt: skip
        columns = ["compose (ms)", "MLflow logging (ms)", "mean run (s)", "% of a run"]
        row = [compose_s * 1000, logging_s * 1000, run_s, 100 * overhead]
        tables.append(table("Framework overhead per run, keras engine", columns, [row]))

    print("\n== throughput ==")
    if args.study == "image":
        print("not against the FLOP limit: 6 x params counts no convolution's FLOPs (see FLOPS_PER_PARAM...)")
    else:
        peak = matmul_flops()
        results.update(peak_flops=peak, flops_per_s_per_process={})
        print(f"measured matmul rate (all cores): {peak / 1e9:.1f} GFLOP/s")
        rates = []
        for engine in args.engines:
            # A fused run's train_seconds is its equal share of its pack's fit time: per process
            # alike; an ensemble's params and seconds are summed over its members.
            frame = frames[engine]
            flops = FLOPS_PER_PARAM_AND_SAMPLE * frame["param_count"] * fit_samples * epochs
            rate = float((flops / frame["fit_seconds"]).mean())
            results["flops_per_s_per_process"][engine] = rate
            rates.append([engine, rate / 1e9, 100 * rate / peak, 100 * WORKERS * rate / peak])
            print(f"{engine}: {rate / 1e9:.2f} GFLOP/s of training per worker ({rate / peak:.1%} of the "
                  f"machine's limit; {WORKERS} processes at once: {WORKERS * rate / peak:.1%})")  # fmt: skip
        tables.append(table("Measured float32 matmul rate, all cores", ["GFLOP/s"], [[peak / 1e9]]))
        columns = [
            "engine",
            "GFLOP/s per worker",
            "% of the machine's limit",
            f"% of the limit, {WORKERS} processes at once",
        ]
        title = f"Training throughput ({FLOPS_PER_PARAM_AND_SAMPLE} FLOPs per weight and training sample)"
        tables.append(table(title, columns, rates))
    if args.scaling:
        print("\n== scaling (seeds -> wall s) ==")
        scaling = []
        for engine, sizes in results["scaling"].items():
            for count, wall in sorted(sizes.items()):
                print(f"{engine}: {count:4d} seeds per arm: {wall:7.1f} s")
                scaling.append([engine, count, wall])
        tables.append(table("Scaling", ["engine", "seeds per arm", "wall (s)"], scaling))
    record(result_name(args, epochs), tables, figures=results, path=args.out)


if __name__ == "__main__":
    main()
