"""`sdtmify build --study A --study B ...`: many studies at once, each study's build one dask.distributed task.

A sponsor converting dozens of studies nightly, or pooling them into an integrated database, outgrows one
process. dask.distributed is a maintained scheduler that runs the same tasks on an embedded LocalCluster
(``--scheduler local``: worker processes on this machine) or on a cluster already running
(``--scheduler tcp://HOST:PORT``). Each task is one whole :func:`sdtmify.build.build_study`, exactly the
serial build: the same guard, lock and output-location checks per study, the same bytes out.

What the client does before anything runs (:func:`plan_builds`): resolve every path against this process's
working directory and project root (workers may run elsewhere), read each study.yaml for its STUDYID and
output folder, and refuse two studies that would write the same folder. A study whose study.yaml cannot be
read fails alone; the others still build.

What reaches a worker (:class:`StudyJob`): the study, its output folder, the build options and the
environment a build reads (``SOURCE_DATE_EPOCH``, and ``SDTMIFY_HOME`` set to the client's project root),
so a worker started elsewhere, with another environment, writes the same bytes as a serial build here.
A worker process runs one build at a time (:data:`_ONE_BUILD`): a build sets process-wide state (the
environment) and is CPU-bound Python, so more threads would not make it faster.

``sdtmify validate PATH --scheduler ...`` (:func:`validate_partitions`) runs one validation the same way, cut
into partitions (sdtmify/validate/partition.py: one per dataset, one for the study-level rules), each a task that
reads the datasets it needs from PATH; the client merges them into the serial run's report.

A pooled build with ``--partition-validation`` does the same from inside each study's task (:func:`run_job`):
the build hands its staged folder to the partitions and waits for them. Waiting inside a task is where a pool
deadlocks: a task that waits gives up (secedes) its worker's thread, and if the next study's build takes that
thread and then waits for the first build to finish (one build per worker process), while the partitions wait
for a thread, with every worker in that state nothing moves again. Three things rule it out:

- A build holds the worker resource :data:`BUILD_SLOT` (each worker process offers one), instead of waiting for
  a lock: the scheduler and the worker start no second build on a worker whose slot is held, and a task that
  secedes keeps its resources until it ends (distributed's worker_state_machine: ``_ensure_computing`` acquires
  them; only ``_executed_done_common`` releases them, not ``_transition_executing_long_running``; the scheduler
  likewise releases them in ``_exit_processing_common``, not ``handle_long_running``). So the thread a waiting
  build gives up can only go to a task that is no build: a partition, which waits for nothing.
- Partitions are submitted with (loose) worker restrictions, so the scheduler assigns them to workers at once
  rather than holding them in its queue of root tasks, which counts a worker's assigned-but-waiting builds
  against its free threads and would give the partitions none (``is_rootish`` is false for restricted tasks;
  ``_task_slots_available`` counts processing minus long-running tasks). They go before waiting builds
  (``priority``).
- A build task decides on its worker whether it may wait: only when the task holds :data:`BUILD_SLOT` and its
  worker offers exactly one (else it validates in its own thread, as without the option). A cluster whose
  workers offer no slot runs the builds as before, without the resource and without partitions.

dask is imported only here, and only when a pooled build or a partitioned validation starts: ``sdtmify --help`` and the plain
one-study build never load it. The build stages (pandas, matplotlib, the writers) are imported only on the
workers, inside :func:`run_job`: the client reads study.yaml files and waits."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import pickle
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .console import Console
from .errors import InputError, SdtmifyError
from .paths import is_bare_name, output_dir, project_root
from .study import load_study

if TYPE_CHECKING:
    from .build import BuildResult

LOCAL = "local"
BUILD_SLOT = "sdtmify-build"
"""The worker resource a pooled build holds: a worker process offering one (a local cluster's do; a dask
worker started with the resource ``sdtmify-build=1``) runs one build at a time, and a build waiting for its
validation's partitions keeps it (see the module's docstring)."""
PARTITION_PRIORITY = 1
"""Partitions run before builds waiting for a thread: a waiting build holds its study's frames in memory."""
CONNECT_TIMEOUT = "10s"
"""How long to try to reach a scheduler; dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT) wins."""
ENVIRONMENT = ("SOURCE_DATE_EPOCH",)
"""Environment variables a build reads, passed to every worker as the client has them (absent stays absent)."""

_ONE_BUILD = threading.Lock()


class PoolError(SdtmifyError):
    """The cluster cannot run the builds: no scheduler at the address, a worker died, another sdtmify."""


@dataclass(frozen=True)
class StudyJob:
    """One study's build as a worker runs it: every path absolute, the environment explicit."""

    study: str  # a bare name (mappings/NAME under SDTMIFY_HOME) or an absolute study folder
    out_dir: str | None  # None: the default output/<STUDYID> under SDTMIFY_HOME
    options: dict[str, Any]  # build_study's other keyword arguments
    environ: dict[str, str | None]
    verbosity: int  # of the worker's captured console: 0 warnings only, 2 with -v
    partition: bool = False  # validate in partitions (when the worker's build slot allows, see run_job)
    version: str = __version__


@dataclass
class StudyOutcome:
    """What became of one ``--study``: its BuildResult, or the error that stopped it (with its traceback)."""

    study: str  # the --study argument as given
    result: BuildResult | None = None
    error: BaseException | None = None
    trace: str = ""
    log: list[str] = field(default_factory=list)  # what the build wrote to its console (warnings, -v details)
    seconds: float = 0.0
    worker: str = ""
    partitions: int = 0  # how many partition tasks validated it (0: validated in the build's own task)


# --- the client side: plan, then run ---------------------------------------------------------------------


def plan_builds(
    studies: Sequence[str], out: str | None, options: dict[str, Any], verbosity: int, partition: bool = False
) -> tuple[list[tuple[str, StudyJob]], list[StudyOutcome]]:
    """Every ``--study`` as a job, or as an outcome that failed already (its study.yaml cannot be read).

    With several studies, ``out`` is the folder that holds one output folder per study (OUT/STUDYID); with
    one, it is that study's output folder, as for the plain build. Two studies that would write the same
    folder are refused (exit 2) before anything runs: one would silently replace the other."""
    root = project_root()
    environ = {name: os.environ.get(name) for name in ENVIRONMENT} | {"SDTMIFY_HOME": str(root)}
    options = dict(options)
    if options.get("ct_file"):
        options["ct_file"] = os.path.abspath(options["ct_file"])
    jobs: list[tuple[str, StudyJob]] = []
    failed: list[StudyOutcome] = []
    targets: dict[Path, str] = {}
    for argument in studies:
        try:
            studyid = load_study(argument).studyid
            if out is None:
                target = output_dir(studyid, root)
            elif len(studies) > 1:
                target = Path(os.path.abspath(out)) / studyid
            else:
                target = Path(os.path.abspath(out))
        except Exception as error:  # the cli turns it into one line naming the study
            failed.append(StudyOutcome(argument, error=error, trace=traceback.format_exc()))
            continue
        resolved = target.resolve()
        if resolved in targets:
            raise InputError(
                f"--study {targets[resolved]} and --study {argument} would both write {resolved} "
                f"(STUDYID {studyid}); build them separately, each with its own --out"
            )
        targets[resolved] = argument
        study = argument if is_bare_name(argument) else os.path.abspath(argument)
        out_dir = None if out is None else str(target)
        jobs.append((argument, StudyJob(study, out_dir, options, environ, verbosity, partition)))
    return jobs, failed


def build_studies(
    studies: Sequence[str],
    *,
    scheduler: str = LOCAL,
    workers: int | None = None,
    out: str | None = None,
    options: dict[str, Any] | None = None,
    partition: bool = False,
    ui: Console,
    on_done: Callable[[StudyOutcome], None] | None = None,
) -> list[StudyOutcome]:
    """Build ``studies`` as dask tasks on ``scheduler`` (``local``: a LocalCluster of ``workers`` processes,
    default one per core, never more than one per study; else the address of a running scheduler) and return one
    outcome per study, in the order given. A study that fails does not stop the others. ``on_done`` is
    called with each outcome as it arrives. ``partition``: each study's validation as partitions, on any
    worker, where its worker's build slot allows (:func:`run_job`)."""
    verbose = ui.verbosity >= 2
    jobs, outcomes = plan_builds(studies, out, options or {}, verbosity=2 if verbose else 0, partition=partition)
    by_study = {outcome.study: outcome for outcome in outcomes}
    for outcome in outcomes:
        if on_done:
            on_done(outcome)
    if jobs:
        what = f"{len(jobs)} stud{'y' if len(jobs) == 1 else 'ies'}"
        if scheduler == LOCAL:
            count = workers or os.cpu_count() or 1
            if not partition:  # a worker no build needs would only start up; partitions may use it
                count = min(count, len(jobs))
            ui.info(f"building {what} on a local dask cluster of {count} worker process{'es' if count > 1 else ''}")
        else:
            count = 0
            ui.info(f"building {what} on the dask scheduler at {scheduler}")
        with warnings.catch_warnings():
            if not verbose:  # dask's own warnings (a slow close, a busy port) are noise to whoever builds studies
                warnings.filterwarnings("ignore", module=r"(dask|distributed)(\.|$)")
            with _client(scheduler, count, verbose) as client:
                slots = _build_slots(client)
                if not slots and partition:
                    ui.warn(
                        f"--partition-validation: no worker offers the {BUILD_SLOT} resource, so each study "
                        f"validates in its own task (start each dask worker with the resource {BUILD_SLOT}=1)"
                    )
                for outcome in _run(client, jobs, slots):
                    by_study[outcome.study] = outcome
                    if on_done:
                        on_done(outcome)
    return [by_study[study] for study in studies]


@contextlib.contextmanager
def _client(scheduler: str, workers: int, verbose: bool) -> Iterator[Any]:
    """A dask client on a new LocalCluster (closed on the way out, Ctrl-C included) or on ``scheduler``."""
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client, LocalCluster

    level = logging.WARNING if verbose else logging.CRITICAL
    logging.getLogger("distributed").setLevel(level)
    setting = CONNECT_TIMEOUT
    if "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT" in os.environ:
        setting = dask.config.get("distributed.comm.timeouts.connect")
    timeout = float(parse_timedelta(setting))
    if scheduler != LOCAL:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except OSError as error:
            raise PoolError(f"--scheduler {scheduler}: no dask scheduler answered ({error})") from None
        try:
            try:  # tasks sent to a scheduler without workers would wait for ever
                client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError):
                raise PoolError(
                    f"--scheduler {scheduler}: the scheduler has no workers (waited {timeout:g} s)"
                ) from None
            yield client
        finally:
            _close(client)
        return
    # A worker that dies (out of memory, killed) fails its study at once instead of being retried: a build
    # that killed one worker would kill the next. No dashboard.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP server (health, metrics) on a free loopback port, not dask's 8787: two
            # pooled builds at once, or a dashboard of the user's, must not clash (nor warn about it)
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            memory_limit=0,  # a build needs what a serial build needs; the OS, not the nanny, limits it
            resources={BUILD_SLOT: 1},
            silence_logs=level,
        )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            _close(client)
    finally:
        _close(cluster)


def _close(thing: Any) -> None:
    """Close a client or a cluster, quietly: on a loaded machine closing may time out, and that must not
    lose the studies' results (the worker processes end anyway: they watch this process)."""
    with contextlib.suppress(Exception, asyncio.CancelledError):
        thing.close()


def _workers(client: Any) -> dict[str, dict]:
    """The scheduler's description of every worker, by address."""
    try:
        info = client.scheduler_info(n_workers=-1)  # all of them (some dask versions describe a few by default)
    except TypeError:  # an older dask, which describes them all and takes no such argument
        info = client.scheduler_info()
    return info.get("workers", {})


def _build_slots(client: Any) -> bool:
    """Whether a worker of the cluster offers :data:`BUILD_SLOT`: then every build holds one."""
    return any(worker.get("resources", {}).get(BUILD_SLOT, 0) >= 1 for worker in _workers(client).values())


def _key(what: str, index: int, name: str) -> str:
    """A task key no other build or validation on the same scheduler has (another client's run included)."""
    return f"sdtmify-{what}-{index}-{name}-{uuid.uuid4().hex}"


def _run(client: Any, jobs: list[tuple[str, StudyJob]], slots: bool) -> Iterator[StudyOutcome]:
    """Submit every job (holding a build slot when the workers offer them), then yield each outcome as its task
    finishes (an infrastructure failure included)."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    resources = {BUILD_SLOT: 1} if slots else None
    futures = {
        client.submit(
            run_job, job, key=_key("build", index, Path(job.study).name), pure=False, resources=resources
        ): argument
        for index, (argument, job) in enumerate(jobs)
    }
    for future in as_completed(futures, loop=client.loop):
        argument = futures[future]
        if future.status == "finished":
            outcome = future.result()
            outcome.study = argument
            yield outcome
            continue
        error = future.exception()
        if isinstance(error, KilledWorker):
            error = PoolError(
                "the worker process building it died (out of memory, or killed); build this study alone to see why"
            )
        elif isinstance(error, ImportError):
            error = PoolError(f"a worker cannot run sdtmify ({error}); install sdtmify {__version__} on every worker")
        yield StudyOutcome(argument, error=error, trace="".join(traceback.format_tb(future.traceback())))


# --- the worker side -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """``values`` set in os.environ (None: unset) for the duration, then put back as they were."""
    saved = {name: os.environ.get(name) for name in values}

    def apply(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    apply(values)
    try:
        yield
    finally:
        apply(saved)


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives the trip back to the client, else a stand-in carrying its type and text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def run_job(job: StudyJob) -> StudyOutcome:
    """One study's build, run on a dask worker: :func:`build_study` with the client's environment, its
    console captured (warnings and -v details travel back with the outcome). Never raises for a failed
    build: the error travels back in the outcome, so the other studies' tasks go on."""
    from distributed import get_worker

    from .build import build_study  # here, not at the top: the client only plans (1.5 CPU-s less to start)
    from .validate.partition import forget_stale
    from .validate.run import partitioned_builds

    try:
        worker = get_worker().address
    except ValueError:  # not on a worker (called directly)
        worker = ""
    forget_stale()  # earlier studies' staged files read by partitions on this worker are gone: so are their tables
    # Python warnings (a library's deprecation, say) are recorded, not printed by the worker: they come back
    # in the log, named by study, instead of landing unnamed on the worker's stderr.
    with _ONE_BUILD, _environment(job.environ), warnings.catch_warnings(record=True) as caught:
        started = time.monotonic()
        stream = io.StringIO()
        outcome = StudyOutcome(job.study, worker=worker)
        try:
            if job.version != __version__:
                raise PoolError(
                    f"the worker at {worker} runs sdtmify {__version__}, this command {job.version}; "
                    "install the same version on every worker"
                )
            ui = Console(verbosity=job.verbosity, stream=stream, out=io.StringIO())
            with contextlib.ExitStack() as stack:
                if job.partition and _holds_the_build_slot():
                    stack.enter_context(partitioned_builds(_partitions_from_here(outcome, ui)))
                outcome.result = build_study(job.study, out_dir=job.out_dir, ui=ui, **job.options)
        except Exception as error:
            outcome.error = _portable(error)
            outcome.trace = traceback.format_exc()
        outcome.log = stream.getvalue().splitlines() + [
            f"warning: {w.category.__name__}: {' '.join(str(w.message).split())} ({w.filename}:{w.lineno})"
            for w in caught
        ]
        outcome.seconds = time.monotonic() - started
    return outcome


def _holds_the_build_slot() -> bool:
    """The running task holds its worker's one :data:`BUILD_SLOT`: no other build can start on this worker
    while it waits for partitions, so the thread it gives up goes to tasks that wait for nothing."""
    from distributed import get_worker

    try:
        worker = get_worker()
        task = worker.state.tasks[worker.get_current_task()]
    except (ValueError, KeyError):  # not in a task on a worker (called directly)
        return False
    held = (task.resource_restrictions or {}).get(BUILD_SLOT, 0)
    return held >= 1 and worker.state.total_resources.get(BUILD_SLOT, 0) == held


def _partitions_from_here(outcome: StudyOutcome, ui: Console) -> Callable[[Any], tuple[Any, str]]:
    """What a build's validation runs (validate/run.py ``partitioned_builds``): its partitions submitted from
    this task, which secedes while it waits (``worker_client``) and rejoins when they are done."""

    def run(inputs: Any) -> tuple[Any, str]:
        from distributed import worker_client

        with worker_client() as client:
            validation, ct_source, count = _validate_on(client, inputs, "build this study without --scheduler")
        outcome.partitions = count
        ui.debug(f"validated in {count} partitions")
        return validation, ct_source

    return run


# --- one validation as partitions (sdtmify validate --scheduler) -------------------------------------------


def partitioned_validation(scheduler: str, workers: int | None, ui: Console) -> Callable[[Any], tuple[Any, str]]:
    """What ``validate_command(partitioned=...)`` calls: the partitions of one validation (validate/partition.py)
    as dask tasks on ``scheduler``, merged here into the serial run's Validation; with the CT's name."""

    def run(inputs: Any) -> tuple[Any, str]:
        return validate_partitions(inputs, scheduler=scheduler, workers=workers, ui=ui)

    return run


def validate_partitions(inputs: Any, *, scheduler: str, workers: int | None, ui: Console) -> tuple[Any, str]:
    """Run every partition of ``inputs`` (one per dataset, then the study-level one, which is told what the
    others learnt of each dataset so that it reads only what its rules look up) and merge them. A partition
    that fails stops the run: :class:`PoolError` names it, and nothing is written."""
    from .validate.partition import STUDY, plan

    partitions, _ = plan(inputs)
    datasets = [p for p in partitions if p.dataset != STUDY]
    verbose = ui.verbosity >= 2
    if scheduler == LOCAL:
        count = max(1, min(workers or os.cpu_count() or 1, len(partitions)))
        ui.info(
            f"validating {len(datasets)} datasets in {len(partitions)} partitions on a local dask cluster of "
            f"{count} worker process{'es' if count > 1 else ''}"
        )
    else:
        count = 0
        ui.info(
            f"validating {len(datasets)} datasets in {len(partitions)} partitions on the dask scheduler at {scheduler}"
        )
    with warnings.catch_warnings():
        if not verbose:
            warnings.filterwarnings("ignore", module=r"(dask|distributed)(\.|$)")
        with _client(scheduler, count, verbose) as client:
            validation, ct_source, _ = _validate_on(client, inputs, "run sdtmify validate without --scheduler")
    return validation, ct_source


def _validate_on(client: Any, inputs: Any, again: str) -> tuple[Any, str, int]:
    """The partitions of ``inputs`` run through ``client`` and merged: the Validation, the CT's name, and how
    many partitions ran. ``again``: what the message of a failed partition tells to do to see where."""
    from .validate.partition import STUDY, merge, plan

    partitions, unplaced = plan(inputs)
    datasets = [p for p in partitions if p.dataset != STUDY]
    study = [p for p in partitions if p.dataset == STUDY]
    results = _partition_results(client, inputs, datasets, None, again)
    infos = {r.info.name: r.info for r in results if r.info is not None}
    results += _partition_results(client, inputs, study, infos, again)
    ct_source = next((r.ct_source for r in results if r.ct_source), "")
    return merge(inputs, results, unplaced), ct_source, len(results)


def _partition_results(client: Any, inputs: Any, partitions: list[Any], infos: Any, again: str) -> list[Any]:
    """Each partition's result, in the order given; the first failure cancels the rest and is raised.

    Each partition may run on any worker: it is restricted, loosely, to the workers there are, which keeps it
    out of the scheduler's queue of root tasks (see the module's docstring), and it goes before waiting builds."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    from .validate.partition import run_partition

    if not partitions:
        return []
    workers = sorted(_workers(client))
    shared = client.scatter(inputs, broadcast=True, hash=False)
    futures = {
        client.submit(
            run_partition,
            shared,
            part,
            infos,
            key=_key("validate", index, part.dataset),
            pure=False,
            workers=workers or None,
            allow_other_workers=True,
            priority=PARTITION_PRIORITY,
        ): part
        for index, part in enumerate(partitions)
    }
    done = {}
    for future in as_completed(futures, loop=client.loop):
        part = futures[future]
        if future.status == "finished":
            done[part.dataset] = future.result()
            continue
        error = future.exception()
        client.cancel(list(futures))
        where = f"validation partition {part.dataset}"
        if isinstance(error, KilledWorker):
            raise PoolError(f"{where}: the worker process running it died (out of memory, or killed)") from None
        if isinstance(error, ImportError):
            raise PoolError(
                f"{where}: a worker cannot run sdtmify ({error}); install sdtmify {__version__} on every worker"
            ) from None
        if isinstance(error, SdtmifyError):
            raise error from None  # an input error (a file that cannot be read) says where itself
        raise PoolError(
            f"{where} failed ({type(error).__name__}: {' '.join(str(error).split())}); {again} to see where"
        ) from None
    return [done[part.dataset] for part in partitions]
