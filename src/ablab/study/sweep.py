"""A study's launch, as the ``ablation`` Hydra sweeper runs it: check the whole plan, create the
MLflow experiment and the parent run, skip runs already FINISHED, launch arms x seeds (fused
packs first) through the configured launcher, run adaptive rounds, close the parent with the
outcome and write the report.

The sweeper (``hydra_plugins.ablab_sweeper``) only hands over to ``StudySweep``. Hydra imports
every plugin at start-up, ``ablab-train --help`` included, so the imports of MLflow and the
study modules stay inside the methods that need them.
"""

import dataclasses
import logging
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import HydraContext
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class StudySweep:
    """One launch of a study: the ablation sweeper's ``sweep`` hands its arguments to ``sweep``."""

    def __init__(
        self,
        hydra_context: HydraContext,
        config: DictConfig,
        launcher: Any,
        dry_run: bool = False,
        report: bool = True,
        max_pack_size: int | None = None,
    ) -> None:
        self.dry_run = dry_run
        self.report = report
        self.max_pack_size = max_pack_size
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = launcher
        self.warming: Any = None  # the joblib workers starting up while the study plans
        self.created = time.perf_counter()  # the launch's start, where the OS gives no process start
        self.step_costs: dict[str, int] = {}  # per arm (ablab.run.engines.fused.step_cost): packs balance it

    def _compose(self, overrides: list[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(self.config, overrides)

    def _common_overrides(self, arguments: list[str]) -> tuple[list[str], list[str]]:
        """The command line's overrides (applied to every arm) and the keys they set."""
        from ablab.errors import ConfigError

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        parsed = parser.parse_overrides(arguments)
        sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
        if sweeps:
            raise ConfigError(
                f"the ablation sweeper does not take sweep overrides {sweeps}; put alternatives "
                "in study.factors (they become arms) and seeds in study.seeds."
            )
        return list(arguments), [o.key_or_group for o in parsed]

    def sweep(self, arguments: list[str]) -> Any:
        from ablab.errors import ConfigError, StudyBusy, TrackingUnavailable

        try:
            return self._sweep(arguments)
        except (ConfigError, StudyBusy, TrackingUnavailable) as error:
            print(f"ablab-train: {error}", file=sys.stderr)
            raise SystemExit(2) from error
        finally:
            self._stop_warming()

    def _stop_warming(self) -> None:
        """Workers warmed for a launch that never came (a refused study): stopped now, not at exit."""
        if self.warming is not None:
            from ablab.study.job_results import release_workers

            release_workers()
            self.warming.result()
            self.warming = None

    def _sweep(self, arguments: list[str]) -> Any:
        from ablab.errors import ConfigError
        from ablab.study.bookkeeping import finished_run_keys, open_study, planned_runs, store_exists
        from ablab.study.console import format_plan
        from ablab.study.datasets import plan_on_datasets
        from ablab.study.design import plan_arms
        from ablab.study.jobs import plan_jobs
        from ablab.study.path import combined_costs, first_arms, path_plan, path_tags
        from ablab.study.spec import read_study
        from ablab.tracking.client import resolve_tracking_uri
        from ablab.tracking.lease import claim, prepare_launch
        from ablab.tracking.server_check import check_tracking_server, uri_source
        from ablab.tracking.store import load_store_module, prepare_store

        if self.max_pack_size is not None and self.max_pack_size < 1:
            raise ConfigError(
                f"hydra.sweeper.max_pack_size={self.max_pack_size} is out of range; allowed: null "
                "(packs sized to the launcher's workers) or an integer >= 1."
            )
        config = self.config
        loader = self.hydra_context.config_loader
        common, keys = self._common_overrides(arguments)
        spec = read_study(
            config,
            lambda key: loader.get_group_options(key),
            keys,
            lambda dataset: self._compose([*common, f"dataset={dataset}"]),
        )
        path = spec.design == "path"
        if path:
            arms = first_arms(spec)
        else:
            arms = plan_arms(spec.baseline, spec.factors, spec.design, spec.resolution)
        tracking_uri = resolve_tracking_uri(config.tracking.uri, config.hydra.runtime.cwd)
        # A server that does not answer stops the study in seconds, before any job is planned.
        check_tracking_server(tracking_uri, uri_source(config.tracking.uri))
        if not self.dry_run:
            from ablab.study.worker_warmup import warm_up_workers

            runs = len(arms) * len(spec.seeds) * max(1, len(spec.datasets))
            self.warming = warm_up_workers(config.hydra.launcher, runs, tracking_uri, config.trainer.backend)
        # A launch of this study still running in the store refuses this one now, not after the
        # seconds of planning below. Opening a client creates a missing sqlite store: not yet.
        client = None
        if store_exists(tracking_uri):
            client = prepare_store(tracking_uri, uri_source(config.tracking.uri))
        notes = prepare_launch(client, spec.name, self.dry_run) if client else []  # dead runs: KILLED
        jobs = plan_on_datasets(spec, lambda these: plan_jobs(spec, arms, these, self._compose), common)
        if client is None:
            load_store_module(tracking_uri)  # while the workers warm: the store opens after the checks
        self.step_costs = self._check_jobs(jobs)
        if client is None and not self.dry_run:  # a dry run must not create a store
            client = prepare_store(tracking_uri, uri_source(config.tracking.uri))
        done = finished_run_keys(client, spec.name) if client else set()
        print(format_plan(spec.name, spec.design, jobs, done, spec.rerun), flush=True)
        if path:
            print(path_plan(spec), flush=True)
        if spec.design == "fractional":
            from ablab.study.fractional_design import plan_summary

            print(plan_summary(arms, list(spec.factors), len(spec.seeds)), flush=True)
        for note in notes:
            print(note, flush=True)
        if spec.schedule and not path:
            looks = ", ".join(map(str, spec.schedule.looks))
            print(f"Adaptive seeds: looks at {looks} seeds; undecided arms get more seeds after each round.")
        if self.dry_run:
            print("Dry run: nothing trained; only runs found dead were marked KILLED.")
            return []
        from ablab.study.rounds import study_tags

        n_seeds = spec.schedule.max if spec.schedule else len(spec.seeds)
        tags = study_tags(spec) | path_tags(spec)
        plan = planned_runs(jobs)
        parent_run_id = open_study(client, spec.name, spec.design, plan, len(arms), n_seeds, tags)
        claim(client, parent_run_id, spec.name)  # two launches at once: the later one gives way
        log.info("Study %r: parent run %s in %s", spec.name, parent_run_id, tracking_uri)

        def plan_round(arm_names: list[str], seeds: list[int], new_arms: tuple = ()) -> list:
            """Jobs of an adaptive round (the arms and their reference, and ``new_arms``: a
            confirmation round's), planned like the launch's."""
            chosen = [arm for arm in arms if arm.reference or arm.name in arm_names] + list(new_arms)
            spec_round = dataclasses.replace(spec, seeds=seeds)
            round_jobs = plan_on_datasets(  # arms checked already
                spec_round, lambda overrides: plan_jobs(spec_round, chosen, overrides, self._compose), common
            )
            if new_arms:  # a confirmation round's arms are checked as the launch's were
                self.step_costs.update(self._check_jobs([j for j in round_jobs if j.arm in new_arms]))
            return round_jobs

        def plan_path_round(path_arms: list, seeds: list[int]) -> list:
            """Jobs of a path step's round: its configurations at the look's seeds."""
            self.step_costs |= combined_costs(spec, path_arms, self.step_costs)
            return plan_jobs(dataclasses.replace(spec, seeds=seeds), path_arms, common, self._compose)

        next_round = plan_path_round if path else plan_round
        return self._run(client, spec, jobs, done, tracking_uri, parent_run_id, next_round)

    def _check_jobs(self, jobs: list) -> dict[str, int]:
        """Every arm's config checked on every dataset (its first seed's), what needs no TensorFlow
        first: a bad value fails in a second; then the model checks per arm; returns the arms' step
        costs."""
        from ablab.run.config_checks import check_config
        from ablab.study.arm_checks import arm_source
        from ablab.study.backend_check import refuse_mixed_backends

        per_arm: dict[str, Any] = {}
        per_dataset_arm: dict[tuple[str, str], Any] = {}
        for job in jobs:  # one config per arm (and dataset): its first seed's
            per_arm.setdefault(job.arm.name, job)
            per_dataset_arm.setdefault((job.dataset, job.arm.name), job)
        for job in per_dataset_arm.values():
            cfg = job.config
            check_config(cfg, cfg.hydra.runtime.choices, cfg.hydra.overrides.task, arm_source(job.arm.name))
        refuse_mixed_backends(self.config.trainer.backend, {j.arm.name: j.config for j in per_arm.values()})
        return self._check_arms([(j.arm, j.config) for j in per_arm.values()])

    def _check_arms(self, arms: list) -> dict[str, int]:
        """``ablab.study.arm_checks`` on the arms: in a warm worker, so this process does not import
        TensorFlow; without warm workers (other launchers, a dry run), here."""
        from ablab.study.arm_checks import check_arms

        if self.warming is None:
            return check_arms(arms)
        from joblib import Parallel, delayed

        from ablab.run.runtime import launcher_workers
        from ablab.study.worker_warmup import joblib_options

        launcher = self.config.hydra.launcher
        self.warming.result()  # one Parallel call at a time on the workers
        jobs = launcher_workers(launcher)
        return Parallel(**joblib_options(launcher))([delayed(check_arms)(arms, jobs)])[0]

    def _run(self, client, spec, jobs, done, tracking_uri, parent_run_id, plan_round) -> Any:
        from ablab.study.bookkeeping import close_study, finished_run_keys, planned_runs, write_plan
        from ablab.study.console import format_outcome, format_verdicts
        from ablab.study.job_results import job_errors, release_workers
        from ablab.tracking.run_summary import study_summary

        to_run = [j for j in jobs if spec.rerun or j.run_key not in done]
        launches, results, look = [], [], 0
        while True:
            this_round = self._launches(to_run, spec, tracking_uri, parent_run_id, first_pack=len(launches))
            results += self._launch_round(client, this_round, len(launches), tracking_uri, parent_run_id)
            launches += this_round
            look += 1
            planned = {j.run_key for j in jobs}
            more = self._next_round(client, spec, parent_run_id, look, plan_round)
            more = [j for j in more if j.run_key not in planned]
            if not more:
                break
            jobs = [*jobs, *more]
            write_plan(client, parent_run_id, planned_runs(jobs))
            done = finished_run_keys(client, spec.name)  # resumes like a launch: finished seeds are skipped
            to_run = [j for j in more if spec.rerun or j.run_key not in done]
        release_workers()
        outcome_of = {id(j): "skipped" for j in jobs}
        errors: dict[str, str] = {}
        for (covered, _), result in zip(launches, results, strict=True):
            for job, error in job_errors(covered, result):
                outcome_of[id(job)] = "failed" if error else "finished"
                if error:
                    errors.setdefault(job.arm.name, error.splitlines()[0][:300])
        outcomes = [(j, outcome_of[id(j)]) for j in jobs]
        counts = {name: sum(o == name for _, o in outcomes) for name in ("finished", "skipped", "failed")}
        close_study(client, parent_run_id, counts)
        print(format_outcome(outcomes, errors))
        report, verdicts = self._report(tracking_uri, parent_run_id) if self.report else (None, [])
        if verdicts:
            print(format_verdicts(verdicts))
        print(study_summary(tracking_uri, parent_run_id, self._seconds(), report))
        if counts["failed"]:
            raise SystemExit(1)
        return results

    def _next_round(self, client, spec, parent_run_id, look, plan_round) -> list:
        """Adaptive seeds: after a round, the next look's seeds for the arms still undecided; a path:
        the next round of its race, or its next step; a fractional screening's confirmation round
        (ablab.study.confirm)."""
        if spec.design == "path":
            from ablab.study.path import next_path_round

            return next_path_round(client, spec, parent_run_id, plan_round)
        if spec.design == "fractional":
            from ablab.study.confirm import confirmation_round

            return confirmation_round(client, spec, parent_run_id, look, plan_round)
        if spec.schedule is None or look >= len(spec.schedule.looks):
            return []
        from ablab.stats.comparisons import ALPHA
        from ablab.study.rounds import launch_decisions, undecided_arms

        decisions = launch_decisions(client, parent_run_id, ALPHA)
        for _, row in decisions.iterrows():
            print(f"  {row['arm']}: {row['outcome']} ({row['reason']})")
        names = undecided_arms(decisions)
        if not names:
            print("Adaptive seeds: every arm is decided.")
            return []
        seeds = spec.schedule.seeds_at_look(look)
        print(f"Adaptive seeds, round {look + 1}: seeds 0-{seeds[-1]} for {', '.join(names)}", flush=True)
        return plan_round(names, seeds)

    def _launch_round(self, client, this_round, first_index, tracking_uri, parent_run_id) -> list:
        """Launch one round's Hydra jobs under the study's progress bar; returns their results.

        Ctrl-C, or a launcher that breaks (a worker killed), ends the launch KILLED, not RUNNING.
        """
        from ablab._compat import quiet_hydra_launchers
        from ablab.study.bookkeeping import kill_study
        from ablab.study.progress import ended_children, study_progress

        if not this_round:
            return []
        if self.warming is not None:
            self.warming.result()  # the launch reuses the warm workers; it must not share them
            self.warming = None
        ended_before = ended_children(client, parent_run_id)  # earlier rounds' runs
        runs = sum(len(covered) for covered, _ in this_round)
        total = ended_before + runs
        logs = Path(self.config.hydra.sweep.dir)
        log.info("Training %d run(s) in %d job(s); their logs: %s/", runs, len(this_round), logs)
        try:
            with quiet_hydra_launchers(), study_progress(tracking_uri, parent_run_id, total, ended_before):
                return self.launcher.launch([o for _, o in this_round], initial_job_idx=first_index)
        except KeyboardInterrupt:
            killed = kill_study(client, parent_run_id)
            print(f"Interrupted: parent run and {killed} running child run(s) marked KILLED.")
            raise
        except Exception as error:  # the launcher broke (a worker killed): end the launch cleanly
            killed = kill_study(client, parent_run_id, f"the launcher failed: {type(error).__name__}")
            print(
                f"ablab-train: the launcher failed ({type(error).__name__}: {error}); parent run and "
                f"{killed} running child run(s) marked KILLED. Launch again to resume: FINISHED runs are "
                "skipped.",
                file=sys.stderr,
            )
            raise SystemExit(1) from error

    def _launches(
        self, to_run, spec, tracking_uri, parent_run_id, first_pack: int = 0
    ) -> list[tuple[list, list[str]]]:
        """(the jobs it covers, its overrides) per Hydra job: fused packs first, then single runs.

        Pack files are numbered from ``first_pack``, so an adaptive round keeps the earlier ones."""
        from ablab.run.runtime import launcher_workers
        from ablab.study.jobs import bookkeeping_overrides, tracking_settings
        from ablab.study.packing import member, pack_overrides, plan_packs

        workers = launcher_workers(self.config.hydra.launcher)
        packs, alone = plan_packs(to_run, workers, self.max_pack_size, cost=self._job_cost)
        pack_dir = Path(self.config.hydra.runtime.cwd) / str(self.config.hydra.sweep.dir) / "packs"
        launches = []
        for index, pack in enumerate(packs, start=first_pack):
            members = [member(j, tracking_settings(j, spec, tracking_uri, parent_run_id)) for j in pack]
            path = pack_dir / f"pack-{index}.json"
            launches.append((pack, pack_overrides(members[0].overrides, members, path)))
        if packs:
            sizes = ", ".join(str(len(p)) for p in packs)
            log.info("Fused engine: %d runs in %d pack(s) of %s", sum(map(len, packs)), len(packs), sizes)
        for job in alone:
            settings = tracking_settings(job, spec, tracking_uri, parent_run_id)
            launches.append(([job], [*job.overrides, *bookkeeping_overrides(settings)]))
        return launches

    def _job_cost(self, job) -> float:
        """A job's weight in the packs: its arm's model step cost, once per ensemble member."""
        return self.step_costs[job.arm.name] * int(job.config.ensemble.size)

    def _report(self, tracking_uri: str, parent_run_id: str) -> tuple[str, list[str]]:
        """Where the report is, and its verdicts in words (one line per compared arm, from the
        report's own findings); a report failure must not hide the study's own outcome."""
        try:
            from ablab.report.make import launch_report

            written = launch_report(tracking_uri, parent_run_id)
            return str(written.folder / "report.html"), written.verdicts
        except Exception as error:  # noqa: BLE001 - reported, the study result stands
            return f"could not be written: {error}", []

    def _seconds(self) -> float:
        """How long the whole command has run, Python's start and the planning included."""
        from ablab.tracking.liveness import process_age_s

        age = process_age_s()
        return age if age is not None else time.perf_counter() - self.created

