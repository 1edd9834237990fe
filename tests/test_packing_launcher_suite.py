"""Hydra's own launcher test suite (as Hydra's joblib, submitit and ray launchers run it) on the
packing launcher: installed into every Hydra app of the environment, it must launch an app
that is not ablab's exactly as Hydra's basic launcher would."""

from __future__ import annotations

import pytest
from hydra import version
from hydra.test_utils.launcher_common_tests import IntegrationTestSuite, LauncherTestSuite
from pytest import mark


@pytest.fixture(autouse=True)
def hydra_11_defaults():
    """The suite's apps expect Hydra's 1.1 defaults (a job runs in its own folder); importing
    ablab-train's @hydra.main set version_base 1.3 for the whole test process."""
    before = version.getbase()
    version.setbase("1.1")
    yield
    version.setbase(str(before))


@mark.parametrize("launcher_name, overrides", [("packing", [])])
class TestPackingLauncher(LauncherTestSuite):
    pass


@mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({"defaults": [{"override hydra/launcher": "packing"}]}, ["-m"])],
)
class TestPackingLauncherIntegration(IntegrationTestSuite):
    pass
