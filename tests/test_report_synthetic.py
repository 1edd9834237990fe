"""Synthetic studies in a real temporary MLflow store, written the way the sweeper and trainer do.

No training and no mocks: parent runs with plan.json, child runs with the contract's tags,
params, per-epoch curves (step = epoch) and final metrics (step 0). Other report tests import
these helpers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from ablab.tracking.tags import (
    ARM,
    CHANGED,
    DESIGN,
    DESIGN_PARAM,
    DIVERGED,
    ERROR,
    N_ARMS_PARAM,
    N_PLANNED_PARAM,
    N_SEEDS_PARAM,
    PARENT_RUN_ID,
    REFERENCE_ARM,
    ROLE,
    ROLE_STUDY,
    RUN_KEY,
    SEED,
    STUDY,
)

_TEMPLATE: dict[str, Path] = {}


def new_store(tmp_path: Path) -> str:
    """A fresh sqlite store; copying one initialised empty database skips MLflow's migrations (~3 s)."""
    if "db" not in _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="ablab-mlflow-template-")) / "template.db"
        MlflowClient(f"sqlite:///{template}").search_experiments()
        _TEMPLATE["db"] = template
    db = tmp_path / "mlflow.db"
    shutil.copy(_TEMPLATE["db"], db)
    return f"sqlite:///{db}"


PARAMS = {
    "optimizer.name": "sgd",
    "optimizer.learning_rate": "0.001",
    "trainer.epochs": "4",
    "trainer.batch_size": "32",
    "model.hidden_units": "[50, 50, 50, 50]",
    "tracking.parent_run_id": "None",
    "trainer.shuffle": "True",
}


@dataclass
class Job:
    arm: str
    seed: int
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def run_key(self) -> str:
        return f"key:{self.arm}:{self.seed}"

    def plan_entry(self, reference: str) -> dict:
        return {
            "arm": self.arm,
            "changed": self.changed,
            "seed": self.seed,
            "run_key": self.run_key,
            "reference": self.arm == reference,
        }


class StudyWriter:
    """One study (= one experiment); launches and child runs with explicit, increasing start times."""

    def __init__(
        self, uri: str, name: str, artifacts: Path, design: str = "ofat", reference: str = "baseline"
    ):
        self.client = MlflowClient(uri)
        self.name, self.design, self.reference = name, design, reference
        self.experiment_id = self.client.create_experiment(
            name, artifact_location=(artifacts / name).as_uri()
        )
        self.clock = 1_700_000_000_000

    def _tick(self) -> int:
        self.clock += 1000
        return self.clock

    def launch(self, jobs: list[Job], plan: bool = True, tags: dict[str, str] | None = None) -> str:
        """A parent run as the sweeper writes it (with a decoy test_accuracy it must never average);
        ``tags``: more parent tags (the study's metric, direction, margin)."""
        tags = {
            ROLE: ROLE_STUDY,
            STUDY: self.name,
            DESIGN: self.design,
            REFERENCE_ARM: self.reference,
            **(tags or {}),
        }
        run = self.client.create_run(self.experiment_id, start_time=self._tick(), tags=tags, run_name="study")
        run_id = run.info.run_id
        params = {
            DESIGN_PARAM: self.design,
            N_ARMS_PARAM: len({job.arm for job in jobs}),
            N_SEEDS_PARAM: len({job.seed for job in jobs}),
            N_PLANNED_PARAM: len(jobs),
        }
        self.client.log_batch(
            run_id,
            params=[Param(k, str(v)) for k, v in params.items()],
            metrics=[Metric("test_accuracy", 0.0, 0, 0)],
        )
        if plan:
            self.client.log_text(
                run_id, json.dumps([job.plan_entry(self.reference) for job in jobs]), "plan.json"
            )
        self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def child(
        self,
        parent: str,
        job: Job,
        final: dict[str, float] | None = None,
        curves: dict[str, list[float]] | None = None,
        status: str = "FINISHED",
        tags: dict[str, str] | None = None,
        run_key: str | None = None,
    ) -> str:
        """One job's run: contract tags, params, per-epoch curves (step 1..E), final metrics (step 0)."""
        run_tags = {
            PARENT_RUN_ID: parent,
            STUDY: self.name,
            DESIGN: self.design,
            ARM: job.arm,
            CHANGED: ",".join(job.changed),
            SEED: str(job.seed),
            RUN_KEY: run_key or job.run_key,
            "initializer": "random_uniform",
            "activation": "sigmoid",
            "optimizer": "sgd",
            "dataset": "mnist",
            **{key: change[1] for key, change in job.changed.items()},  # the group choice it made
            **(tags or {}),
        }
        run = self.client.create_run(self.experiment_id, start_time=self._tick(), tags=run_tags)
        run_id = run.info.run_id
        metrics = [Metric(k, float(v), 0, 0) for k, v in (final or {}).items()]
        for key, values in (curves or {}).items():
            metrics += [Metric(key, float(v), 0, epoch) for epoch, v in enumerate(values, start=1)]
        params = [Param(k, v) for k, v in PARAMS.items()]
        self.client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("ablab.synthetic", "1")])
        self.client.set_terminated(run_id, status)
        return run_id


def curve(final: float, epochs: int = 4) -> list[float]:
    """A rising validation curve ending at ``final``."""
    return [final * (epoch / epochs) ** 0.5 for epoch in range(1, epochs + 1)]


# The demo study: known values the statistics tests check by hand.
BASELINE = {0: 0.20, 1: 0.22, 2: 0.25}
HE_NORMAL = {0: 0.40, 1: 0.43, 2: 0.41}
RELU = {0: 0.90, 1: 0.93}  # seed 2 diverged
ADAM = {0: 0.92}  # seed 1 killed, seed 2 never ran
HE_CURVES = {0: [0.2, 0.4, 0.5, 0.5], 1: [0.1, 0.3, 0.44, 0.5], 2: [0.3, 0.5, 0.5, 0.5]}

ARMS = {
    "baseline": {},
    "initializer=he_normal": {"initializer": ["random_uniform", "he_normal"]},
    "activation=relu": {"activation": ["sigmoid", "relu"]},
    "optimizer=adam": {"optimizer": ["sgd", "adam"]},
}


@dataclass
class Demo:
    uri: str
    writer: StudyWriter
    parent: str  # the latest launch
    old_parent: str
    jobs: list[Job]


def write_demo(uri: str, artifacts: Path, name: str = "demo") -> Demo:
    """Two launches of one OFAT study: the second skips what the first finished, and has failures."""
    writer = StudyWriter(uri, name, artifacts)
    jobs = [Job(arm, seed, changed) for arm, changed in ARMS.items() for seed in (0, 1, 2)]
    job = {(j.arm, j.seed): j for j in jobs}

    def finish(parent: str, arm: str, seed: int, value: float, val_curve: list[float] | None = None) -> str:
        val_curve = val_curve or curve(value + 0.01)
        train_curve = [min(1.0, v + 0.03) for v in val_curve]
        final = {
            "test_accuracy": value,
            "test_loss": 2.0 - value,
            "train_seconds": 10.0,
            "param_count": 47410,
        }
        curves = {"val_accuracy": val_curve, "accuracy": train_curve, "loss": [2.0 - v for v in train_curve]}
        return writer.child(parent, job[(arm, seed)], final, curves)

    old = writer.launch(jobs)
    finish(old, "baseline", 0, BASELINE[0])  # the latest launch skips this key
    finish(old, "initializer=he_normal", 0, 0.10, HE_CURVES[0])  # superseded by a newer FINISHED run
    writer.child(old, job[("activation=relu", 2)], {"test_accuracy": 0.5}, status="FAILED")

    new = writer.launch(jobs)
    for seed in (1, 2):
        finish(new, "baseline", seed, BASELINE[seed])
    for seed, value in HE_NORMAL.items():
        finish(new, "initializer=he_normal", seed, value, HE_CURVES[seed])
    for seed, value in RELU.items():
        finish(new, "activation=relu", seed, value)
    writer.child(
        new,
        job[("activation=relu", 2)],
        {"test_accuracy": 0.99},  # a diverged run's partial value: must never be averaged
        {"val_accuracy": [0.5, 0.6]},
        status="FAILED",
        tags={DIVERGED: "true", ERROR: "Diverged: loss became nan at epoch 2"},
    )
    finish(new, "optimizer=adam", 0, ADAM[0])
    writer.child(new, job[("optimizer=adam", 1)], {}, {"val_accuracy": [0.3]}, status="KILLED")
    # A finished run of a key this launch did not plan (an older config): not part of the report.
    writer.child(new, Job("baseline", 7), {"test_accuracy": 0.5}, run_key="key:stale")
    return Demo(uri, writer, new, old, jobs)


def test_demo_store_follows_the_contract(tmp_path: Path) -> None:
    demo = write_demo(new_store(tmp_path), tmp_path / "artifacts")
    client = demo.writer.client
    assert client.get_run(demo.parent).data.tags[ROLE] == ROLE_STUDY
    plan = json.loads(Path(client.download_artifacts(demo.parent, "plan.json", str(tmp_path))).read_text())
    assert len(plan) == 12 and {entry["arm"] for entry in plan} == set(ARMS)
    child = client.search_runs([demo.writer.experiment_id], "tags.`ablab.arm` = 'optimizer=adam'")[-1]
    assert [m.step for m in client.get_metric_history(child.info.run_id, "val_accuracy")] == [1, 2, 3, 4]
    assert [m.step for m in client.get_metric_history(child.info.run_id, "test_accuracy")] == [0]
