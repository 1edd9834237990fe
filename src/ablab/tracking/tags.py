"""The tag contract: every MLflow tag and param name ablab writes and its report reads.

The engines, the sweeper and the study bookkeeping write these names; the report and the
tests' synthetic study writer read them from here too, so renaming one breaks the tests
instead of silently emptying a report.
"""

from __future__ import annotations

# Every training run (both engines, study or not).
RUN_KEY = "ablab.run_key"  # hash of the settings that decide the result: a study's resume key
ENGINE = "ablab.engine"  # keras | fused
THREADS = "ablab.threads"
DEVICE = "ablab.device"  # what TensorFlow trained on: "CPU (...)" or "GPU: <name>"
DIVERGED = "ablab.diverged"  # "true" when the loss became nan/inf
ERROR = "ablab.error"  # one-line error of a FAILED/KILLED run
PACK_SIZE = "ablab.pack_size"  # runs trained together by one fused job
MEMBER_SEEDS = "ablab.member_seeds"  # an ensemble's member seeds
HYDRA_OVERRIDES = "hydra_overrides"
SEARCH = "ablab.search"  # set by conf/hparams_search/*.yaml (tracking.tags), not by code
TASK_PARAM = "dataset.task"  # classification | binary | regression (ablab.config.tasks)
TRIAL = "ablab.trial"  # a search trial's Optuna trial number (set by the search sweeper)

# Every RUNNING run's owner and sign of life (ablab.tracking.liveness), and why a dead one was KILLED.
OWNER_HOST = "ablab.owner.host"
OWNER_PID = "ablab.owner.pid"
OWNER_PID_START = "ablab.owner.pid_start"  # the pid's start time: a reused pid is not the owner
LAUNCH = "ablab.launch"  # one id per ablab-train command, shared by its workers
HEARTBEAT_AT = "ablab.heartbeat"  # unix seconds of the owner's last sign of life
KILLED_REASON = "ablab.killed_reason"

# A study's job runs (set by the sweeper through tracking.tags).
STUDY = "ablab.study"
DESIGN = "ablab.design"
ARM = "ablab.arm"
CHANGED = "ablab.changed"  # comma-separated config keys the arm changes from the baseline
SEED = "ablab.seed"
DATASET = "ablab.dataset"  # the study.datasets option the job trains on (absent without study.datasets)

# A study launch (the parent run).
ROLE = "ablab.role"
ROLE_STUDY = "study"  # the value of ROLE on a study launch
ROLE_SEARCH = "search"  # the value of ROLE on a search's parent run (ablab.search)
REFERENCE_ARM = "ablab.reference_arm"
METRIC = "ablab.metric"  # the metric the study compares (default: the report's choice)
DIRECTION = "ablab.direction"  # maximize | minimize
MARGIN = "ablab.margin"  # the equivalence margin, in the metric's units (study.margin)
SEED_SCHEDULE = "ablab.seed_schedule"  # JSON {start, step, max, spending}: adaptive seeds
PATH = "ablab.path"  # JSON {keys, target, seeds}: an ablation path (study.design=path)
CONFIRM = "ablab.confirm"  # JSON {factors, arms, added}: a fractional screening's confirmation round
# Parent-run params.
DESIGN_PARAM = "design"
N_ARMS_PARAM = "n_arms"
N_SEEDS_PARAM = "n_seeds"
N_PLANNED_PARAM = "n_planned"

# MLflow's own tags.
PARENT_RUN_ID = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"
GIT_COMMIT = "mlflow.source.git.commit"  # the UI shows it as the run's Source version


def count_tag(outcome: str) -> str:
    """The parent-run tag counting jobs with this outcome (finished, skipped, failed)."""
    return f"ablab.{outcome}"


def tag_column(tag: str) -> str:
    """A tag's column in ``mlflow.search_runs``-style frames (``report.read.runs_frame``)."""
    return f"tags.{tag}"
