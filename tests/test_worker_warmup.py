"""The joblib workers a study warms while it plans are the ones its launch runs jobs in."""

from __future__ import annotations

import os

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from joblib import Parallel, delayed

from ablab.study.job_results import release_workers
from ablab.study.worker_warmup import joblib_options, warm_up_workers
from conftest import CONF_DIR


def launcher_config(choice: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"hydra/launcher={choice}"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg.hydra.launcher


SQLITE = "sqlite:///mlflow.db"


def job_in_a_worker() -> tuple[int, bool, bool]:
    """(its process, whether TensorFlow and MLflow's database store were already imported,
    whether its thread pools can still be sized, as ``ablab.run.runtime.configure_threads`` does at
    a job's start)."""
    import sys

    warm = {"tensorflow", "mlflow.store.tracking.sqlalchemy_store"} <= sys.modules.keys()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        return os.getpid(), warm, False
    return os.getpid(), warm, True


def test_the_launch_runs_in_the_warm_workers_with_tensorflow_loaded_and_threads_unset():
    launcher = launcher_config("joblib")
    try:
        warm_pids = set(warm_up_workers(launcher, 12, SQLITE, "tensorflow").result())
        assert warm_pids and os.getpid() not in warm_pids
        jobs = Parallel(**joblib_options(launcher))(delayed(job_in_a_worker)() for _ in range(4))
    finally:
        release_workers()
    assert {pid for pid, _, _ in jobs} <= warm_pids
    assert all(warm for _, warm, _ in jobs), "the workers did not import TF and the store while warming"
    assert all(sized for _, _, sized in jobs), "warming started TensorFlow's runtime: threads fixed"


def test_only_a_parallel_joblib_launcher_is_warmed_and_no_more_workers_than_runs():
    assert warm_up_workers(launcher_config("basic"), 12, SQLITE, "tensorflow") is None
    serial = launcher_config("joblib").copy()
    serial.n_jobs = 1  # joblib runs it in this process: nothing to start
    assert warm_up_workers(serial, 12, SQLITE, "tensorflow") is None
    assert warm_up_workers(launcher_config("joblib"), 0, SQLITE, "tensorflow") is None  # all done already
    try:
        assert len(set(warm_up_workers(launcher_config("joblib"), 1, SQLITE, "tensorflow").result())) == 1
    finally:
        release_workers()


def backend_in_a_worker() -> tuple[str, bool]:
    """(the backend Keras runs on in this worker, whether TensorFlow is loaded)."""
    import sys

    import keras

    return keras.backend.backend(), "tensorflow" in sys.modules


def test_workers_warm_on_the_studys_backend_without_tensorflow():
    launcher = launcher_config("joblib")
    try:
        warm_up_workers(launcher, 2, SQLITE, "jax").result()
        jobs = Parallel(**joblib_options(launcher))(delayed(backend_in_a_worker)() for _ in range(2))
    finally:
        release_workers()
    assert jobs == [("jax", False), ("jax", False)]
