"""`--engine ray`: Ray Data's streaming execution over an actor pool.

Each actor holds one Remover, so the model is loaded once per actor; the model store fetches
it once per node (under its file lock) and hash-checks it before each load. An actor takes a
few images at a time and runs them through the local engine's lanes, so it keeps its cores as
busy as `--engine local` does. Rows stream back
to this process, which alone writes the manifest; outputs are written by the actors straight to
DEST (a folder every node mounts, or object storage). An actor that dies is restarted by Ray and
its unfinished images are done again; outputs are written atomically and the manifest keeps the
first row of each input, so every output ends up written once and whole.
"""
from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..errors import AlphaLiftError
from .engine import EngineOptions, RecordFn
from .manifest import Row
from .local import DEFAULT_LANES as LANES
from .local import cut_in_lanes
from .work import Cutter, Job, Settings, SharedRemover

if TYPE_CHECKING:
    from ray.data import DataContext

ENV_PASSED = ("ALPHALIFT_HOME", "ALPHALIFT_BACKEND", "ALPHALIFT_THREADS", "ALPHALIFT_MAX_PIXELS")
MAX_BLOCKS = 2000  # blocks of the input list: small enough to stream, few enough to plan fast
ACTOR_START_S = 900  # to start every actor, a first download of the model included
BATCH = 2 * LANES  # images an actor takes at once: its lanes stay busy, a lost actor costs few


def quiet_data_context(context: DataContext) -> DataContext:
    """Ray Data's own progress bars and execution logs off: ours counts images, not blocks."""
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    return context


class RayMissingError(AlphaLiftError):
    code = "ray-missing"


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissingError("--engine ray needs Ray, which is not installed.",
                              "Install it into AlphaLift's environment with: pip install "
                              "'alphalift[ray]', or use --engine local.") from None
    return ray


class CutoutActor:
    """A Ray Data callable class: one per actor, the model loaded in its constructor."""

    def __init__(self, settings: dict) -> None:
        background = settings.get("background")
        settings = {**settings, "background": tuple(background) if background else None}
        settings = Settings(**settings)
        self.cutter = Cutter(settings, SharedRemover(backend=settings.backend,
                                                     threads=settings.threads,
                                                     download=settings.download, lanes=LANES))
        import ray

        node = ray.get_runtime_context().get_node_id()[:12]
        self.cutter.worker = f"{self.cutter.worker}:{node}"  # host:pid:node in the manifest
        self.cutter.load_model()

    def __call__(self, batch: dict) -> Iterator[dict]:
        jobs = [Job(str(source), str(target)) for source, target in zip(batch["input"], batch["output"])]
        for row in cut_in_lanes(self.cutter, jobs, LANES):
            yield {"row": [json.dumps(asdict(row))]}  # streamed: the driver sees it at once


def connect(ray, address: str | None) -> None:
    """Join the cluster at ``address`` (else RAY_ADDRESS, else start one here), passing the
    ALPHALIFT_* settings of this shell to every worker of the job."""
    env = {name: os.environ[name] for name in ENV_PASSED if name in os.environ}
    verbose = logging.getLogger("alphalift").isEnabledFor(logging.DEBUG)
    kwargs = {"runtime_env": {"env_vars": env},
              "logging_level": logging.INFO if verbose else logging.ERROR,
              "log_to_driver": verbose, "ignore_reinit_error": True}
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        kwargs["address"] = address
    else:
        kwargs["include_dashboard"] = False
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local cluster"
        raise AlphaLiftError(f"could not start or reach Ray at {where} ({' '.join(str(exc).split())}).",
                             "Check --ray-address (`ray status` on the head node shows it); a "
                             "cluster with token authentication also needs RAY_AUTH_MODE=token "
                             "and its token here.") from None
    if not verbose:  # Ray Data's own progress and timing lines: ours say it per image
        for handler in logging.getLogger("ray.data").handlers:
            if handler.get_name() == "console":
                handler.setLevel(logging.ERROR)


def quiet_backend_logs() -> None:
    """Ray's C++ core prints to this terminal an error-level note that every Ray Data actor
    pool triggers (restartable actors with constructor arguments); unless --debug, only fatal
    messages (Ray then notes the level it was given, on one line)."""
    if not logging.getLogger("alphalift").isEnabledFor(logging.DEBUG):
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")


def pool_shape(resources: dict, nodes: int, options: EngineOptions) -> tuple[int, float]:
    """Actors and CPUs per actor: by default one actor a node (the model uses all its cores)
    or one a GPU share; CPUs split evenly between the actors."""
    cpus, gpus = float(resources.get("CPU", 1)), float(resources.get("GPU", 0))
    if options.workers:
        workers = options.workers
    elif options.gpus_per_worker:
        workers = max(1, int(gpus // options.gpus_per_worker))
    else:
        workers = max(1, nodes)
    if options.gpus_per_worker and workers * options.gpus_per_worker > gpus:
        raise AlphaLiftError(f"{workers} workers with --gpus-per-worker {options.gpus_per_worker:g} "
                             f"need {workers * options.gpus_per_worker:g} GPUs; the Ray cluster "
                             f"has {gpus:g}.",
                             "Start Ray on nodes with GPUs (`ray status` lists them), or lower "
                             "--workers / --gpus-per-worker.")
    share = cpus / workers  # whole cores where there are enough, else a fair fraction
    return workers, float(math.floor(share)) if share >= 1 else round(share, 3)


def cluster_pool_shape(ray, options: EngineOptions) -> tuple[int, float]:
    """pool_shape for the cluster ``ray`` is connected to (its resources and live nodes)."""
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return pool_shape(ray.cluster_resources(), nodes, options)


class RayEngine:
    def run(self, jobs: list[Job], settings: Settings, options: EngineOptions,
            record: RecordFn) -> None:
        ray = import_ray()
        ray_connected_here = not ray.is_initialized()
        quiet_backend_logs()
        connect(ray, options.ray_address)
        try:
            self._run(ray, jobs, settings, options, record)
        finally:
            if ray_connected_here:
                ray.shutdown()

    def _run(self, ray, jobs: list[Job], settings: Settings, options: EngineOptions,
             record: RecordFn) -> None:
        from ray.data import ActorPoolStrategy, DataContext

        context = quiet_data_context(DataContext.get_current())
        if hasattr(context, "wait_for_min_actors_s"):
            # every actor holds its model before any image is handed out, so work spreads over
            # all of them from the start; a pool the cluster cannot place fails with a message
            context.wait_for_min_actors_s = ACTOR_START_S
        workers, cpus = cluster_pool_shape(ray, options)
        from ..engine import thread_count

        # --threads / ALPHALIFT_THREADS, else the actor's share of its node's cores
        threads = thread_count(settings.threads) or (max(1, int(cpus)) if not options.gpus_per_worker else None)
        plain = {**asdict(settings), "threads": threads}
        items = [{"input": job.input, "output": job.output} for job in jobs]
        # one task a block (batch_size=None: Ray Data would merge small blocks up to a batch
        # size), blocks of BATCH images, so even a small job reaches every actor
        blocks = min(MAX_BLOCKS, math.ceil(len(items) / BATCH))
        dataset = ray.data.from_items(items, override_num_blocks=blocks)
        results = dataset.map_batches(
            CutoutActor, fn_constructor_kwargs={"settings": plain}, batch_size=None,
            compute=ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1), num_cpus=cpus,
            num_gpus=options.gpus_per_worker or None, batch_format="numpy")
        try:
            for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                for text in batch["row"]:
                    record(Row(**json.loads(str(text))))
        except ray.exceptions.RayError as exc:
            raise AlphaLiftError(f"the Ray job failed: {_first_line(exc)}",
                                 "Run with --debug for Ray's traceback; images already done are "
                                 "in the manifest and will be skipped next time.") from exc


def _first_line(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[-1] if lines else type(cause).__name__
