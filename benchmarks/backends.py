"""Side by side on the CPU: a study on every Keras backend x engine that exists, against the plain
script and against TensorFlow ``fit``, and whether the backends agree on each arm.

    python benchmarks/backends.py                       # seed + series, each preset's 100 epochs, seeds 0 1 2
    python benchmarks/backends.py --quick               # 5 epochs, seeds 0 1 (a look, not a measurement)
    python benchmarks/backends.py --studies seed --epochs 10 --seeds 0 1 2

Each side is one ``ablab-train study=<study> trainer.backend=<b> trainer.engine=<e>`` into a fresh
MLflow store (the preset's joblib launcher, report included); the plain script
(benchmarks/naive_seed.py, TensorFlow, one process per run) is the seed study's baseline. The
sides are every backend's ``fit`` and every fused engine a backend has (``FUSED_ENGINE`` of
``ablab.run.backends.<name>``): a new fused engine joins the table with no change here. Prints
wall times, their ratios to the plain script and to TensorFlow ``fit``, per-arm test accuracy on
each side and, per arm, each side against TensorFlow ``fit`` (Welch two-sample t-test, and the
ordering of the arms); writes benchmarks/results/backends-<study>[-<size>].json.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from engine_agreement import welch_p
from results import record, table
from study_speed import SEED_ARMS, STUDY_EPOCHS, export_split, run_ablab, run_naive

from ablab.config.schema import BACKENDS
from ablab.run.backends import installed_backends
from ablab.tracking.store import empty_store

REFERENCE = "tensorflow fit"
PLAIN = "plain script"
QUICK = {"epochs": 5, "seeds": [0, 1]}
# Arms whose reference means differ by less than this are ties: their order is noise.
TIE = 0.05


@dataclass(frozen=True)
class Side:
    backend: str
    engine: str  # trainer.engine

    @property
    def label(self) -> str:
        return f"{self.backend} {'fit' if self.engine == 'keras' else self.engine}"


def sides(backends: list[str]) -> list[Side]:
    """Keras ``fit`` on every backend, and ``fused`` on each backend that has a fused engine."""
    found = []
    for backend in backends:
        found.append(Side(backend, "keras"))
        if importlib.import_module(f"ablab.run.backends.{backend}").FUSED_ENGINE is not None:
            found.append(Side(backend, "fused"))
    return found


def agreement(frames: dict[str, pd.DataFrame], arms: list[str], reference: str = REFERENCE) -> pd.DataFrame:
    """Per arm and side: n, mean test accuracy, difference to ``reference`` and Welch's p-value."""
    rows = []
    base = frames[reference]
    for side, frame in frames.items():
        if side in (reference, PLAIN):
            continue
        for arm in arms:
            a = base.loc[base["arm"] == arm, "test_accuracy"].to_numpy(float)
            b = frame.loc[frame["arm"] == arm, "test_accuracy"].to_numpy(float)
            rows.append(
                {"side": side, "arm": arm, "n": len(b), "reference": a.mean(), "mean": b.mean(),
                 "difference": b.mean() - a.mean(), "p_welch": welch_p(a, b)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def same_ordering(reference: pd.Series, other: pd.Series, tie: float = TIE) -> bool:
    """Do two sides rank every pair of arms alike, pairs the reference ranks within ``tie`` aside?"""
    for a, b in itertools.combinations(reference.index, 2):
        if abs(reference[a] - reference[b]) > tie and (reference[a] > reference[b]) != (other[a] > other[b]):
            return False
    return True


def measure(study: str, epochs: int, seeds: list[int], backends: list[str], naive: bool) -> dict:
    """Train the study on each side; wall seconds and the runs' rows per side."""
    walls: dict[str, float] = {}
    frames: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export_split(tmp / "split.npz")
        empty_store()  # made once per machine: no side is timed making it
        if naive:
            walls[PLAIN], frames[PLAIN] = run_naive(tmp / "split.npz", epochs, seeds)
        for side in sides(backends):
            overrides = [f"trainer.backend={side.backend}"]
            where = tmp / side.label.replace(" ", "-")
            wall, frame = run_ablab(where, study, epochs, seeds, side.engine, overrides)
            walls[side.label], frames[side.label] = wall, frame
            print(f"{side.label}: {walls[side.label]:.1f} s", flush=True)
    return {"walls": walls, "frames": frames}


def report(
    study: str, epochs: int, seeds: list[int], walls: dict, frames: dict, reference: str = REFERENCE
) -> tuple[list, dict]:
    """Print the figures, ratios and tests against the ``reference`` side; return them as result
    tables and as numbers."""
    devices = sorted({d for f in frames.values() for d in f.get("device", []) if d})
    setting = f"study={study}, {epochs} epochs, seeds {seeds}, {' / '.join(devices) or 'CPU'}"
    tables, figures = [], {"study": study, "epochs": epochs, "seeds": seeds, "wall_s": walls}
    print(f"\n== {setting}: wall time (launch to report) ==")
    rows = []
    for side, wall in walls.items():
        vs_plain = walls[PLAIN] / wall if PLAIN in walls else None
        vs_reference = walls[reference] / wall if reference in walls else None
        rows.append([side, len(frames[side]), wall, vs_plain, vs_reference])
        ratios = f"  plain/this {vs_plain:.2f}x" if vs_plain else ""
        ratios += f"  {reference.replace(' ', '-')}/this {vs_reference:.2f}x" if vs_reference else ""
        print(f"{side:>18}: {len(frames[side]):3d} runs {wall:8.1f} s{ratios}")
    columns = ["side", "runs", "wall (s)", "plain script / side", f"{reference} / side"]
    tables.append(table(f"Wall time: {setting}", columns, rows))

    arms = SEED_ARMS if study == "seed" else list(dict.fromkeys(next(iter(frames.values()))["arm"]))
    accuracy = pd.DataFrame({side: f.groupby("arm")["test_accuracy"].mean() for side, f in frames.items()})
    accuracy = accuracy.reindex(arms)
    engines = {side: ",".join(sorted(set(f["engine"]))) for side, f in frames.items() if "engine" in f}
    print("\n== test accuracy per arm (mean over seeds) ==")
    print(accuracy.round(4).to_string())
    print("engine that trained each side's runs: " + ", ".join(f"{s}: {e}" for s, e in engines.items()))
    figures |= {"accuracy": accuracy.to_dict(), "trained_by": engines}
    tables.append(table(f"Test accuracy per arm, mean over seeds: {setting}", ["arm", *accuracy],
                        list(accuracy.itertuples())))  # fmt: skip

    if reference in frames and len(frames) > 1 + (PLAIN in frames):
        compared = agreement(frames, arms, reference)
        ordering = {s: same_ordering(accuracy[reference], accuracy[s]) for s in compared["side"].unique()}
        print(f"\n== each side vs {reference}, per arm (Welch two-sample t-test) ==")
        print(compared.round(4).to_string(index=False))
        print("same ordering of arms (ties within 5 pp aside): "
              + ", ".join(f"{s}: {'yes' if same else 'NO'}" for s, same in ordering.items()))  # fmt: skip
        figures |= {"agreement": compared.to_dict(orient="records"), "same_ordering": ordering}
        title = f"Each side vs {reference} (Welch per arm): {setting}; same ordering: " + ", ".join(
            f"{s} {'yes' if same else 'NO'}" for s, same in ordering.items()
        )
        tables.append(table(title, list(compared.columns), compared.itertuples(index=False)))
    return tables, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", choices=["seed", "series"], default=["seed", "series"])
    quick = f"{QUICK['epochs']} epochs, seeds {QUICK['seeds']}"
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--epochs", type=int, help="default: the study's own (100)")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=installed_backends())
    parser.add_argument("--skip-naive", action="store_true", help="no plain-script side (seed study)")
    parser.add_argument("--reference", default=REFERENCE, help="the side the others are compared with")
    parser.add_argument("--name", default="backends", help="the result file's name (and its size)")
    parser.add_argument("--out-dir", type=Path, help="result files go here (default: benchmarks/results)")
    args = parser.parse_args()
    for study in args.studies:
        epochs = args.epochs or (QUICK["epochs"] if args.quick else STUDY_EPOCHS[study])
        seeds = args.seeds or (QUICK["seeds"] if args.quick else [0, 1, 2])
        naive = study == "seed" and not args.skip_naive
        measured = measure(study, epochs, seeds, args.backends, naive)
        tables, figures = report(study, epochs, seeds, measured["walls"], measured["frames"], args.reference)
        full = epochs == STUDY_EPOCHS[study] and seeds == [0, 1, 2]
        name = f"{args.name}-{study}" + ("" if full else f"-epochs{epochs}-seeds{len(seeds)}")
        record(name, tables, figures, args.out_dir / f"{name}.json" if args.out_dir else None)


if __name__ == "__main__":
    main()
