"""The checks that build each arm's model run in a warm worker: the planning process never
imports TensorFlow, and what they find (step costs, a refused config) comes back the same."""

from __future__ import annotations

import json
import subprocess
import sys

from ablab.models.probe import ProbeModels
from ablab.run.engines.fused.step_cost import step_cost
from conftest import compose_run

ARMS = {"baseline": [], "+normalization=batchnorm": ["normalization=batchnorm"]}

CHECKS_IN_A_WORKER = """
import json, sys
from hydra import compose, initialize_config_dir
from ablab.config.schema import register_schemas
from ablab.errors import ConfigError
from ablab.config.packaged import CONFIG_DIR
from ablab.study.design import Arm
from ablab.study.job_results import release_workers
from ablab.study.worker_warmup import warm_up_workers
from ablab.study.sweep import StudySweep

register_schemas()
with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
    def arms(settings):
        overrides = {name: ["hydra/launcher=joblib", *more] for name, more in settings.items()}
        return [(Arm(n, {}, {}), compose("train", o, return_hydra_config=True)) for n, o in overrides.items()]
    sound, bad = arms(%(arms)s), arms({"baseline": [], "+lr": ["optimizer.learning_rate=-1"]})
sweeper = StudySweep(None, sound[0][1], None)
sweeper.warming = warm_up_workers(sweeper.config.hydra.launcher, 2, "sqlite:///mlflow.db", "tensorflow")
try:
    costs = sweeper._check_arms(sound)
    try:
        sweeper._check_arms(bad)
        refused = None
    except ConfigError as error:
        refused = str(error)
finally:
    release_workers()
print(json.dumps({"costs": costs, "refused": refused, "tensorflow": "tensorflow" in sys.modules}))
"""


def test_arm_checks_run_in_a_warm_worker_and_the_planning_process_never_imports_tensorflow():
    script = CHECKS_IN_A_WORKER % {"arms": repr(ARMS)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])

    assert found["tensorflow"] is False
    probes = ProbeModels()
    here = {name: step_cost(probes(compose_run(overrides)[0])) for name, overrides in ARMS.items()}
    assert found["costs"] == here and here["+normalization=batchnorm"] > here["baseline"]
    refused = (
        "Invalid config: optimizer.learning_rate=-1.0 (from arm '+lr' or the command line) is out of range; "
        "allowed: a number > 0."
    )
    assert found["refused"] == refused  # the worker's ConfigError, raised here with its message
