#!/usr/bin/env python3
"""What Ray itself costs a batch job on this machine, apart from any cut-out.

    python benchmarks/ray_overhead.py [--seconds 60] [--workers 1]

Starts Ray the way `alphalift batch --engine ray` does (the engine's own `connect`, its Ray Data
switches, an actor pool of the engine's shape) but the actors only sleep: every CPU second then
spent is Ray's. Samples the CPU time of this process and of every process it started (GCS,
raylet, agents, Ray Data's actors, the pool's actors) from /proc, and reports the start-up (until
the first block is back) and the steady state after it, in cores, per process. Wall-clock
timings of real jobs on a shared 2-core machine vary by ±8 % from one minute to the next; these
CPU seconds hardly do, so they say how much of a node Ray keeps for itself. Linux only.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
BLOCK_S = 2.0  # how long an actor "works" on each block


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            children[int(stat[stat.rfind(")") + 2:].split()[1])].append(int(proc.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


class CpuLedger:
    """CPU seconds per process of this tree, by name; processes that end keep their last count."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.names: dict[int, str] = {}

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            self.seconds[pid] = (int(fields[11]) + int(fields[12])) / TICK
            if pid == os.getpid():
                self.names[pid] = "driver (this process)"
            elif command.startswith("ray::") or pid not in self.names:
                words = command.split()
                self.names[pid] = words[0] if command.startswith("ray::") else \
                    " ".join(Path(word).name for word in words[:2])[:48]

    def by_name(self) -> collections.Counter:
        totals: collections.Counter = collections.Counter()
        for pid, seconds in self.seconds.items():
            totals[self.names.get(pid, "?")] += seconds
        return totals


class Sleeper:
    """An actor that holds no model and only waits, as long as a block of cut-outs might take."""

    def __call__(self, batch: dict):
        time.sleep(BLOCK_S)
        yield {"row": batch["input"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="steady state to measure")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        print("skipped: needs Linux's /proc")
        return 0
    try:
        import ray
        from ray.data import ActorPoolStrategy, DataContext
    except ImportError:
        print("skipped: Ray is not installed (pip install 'alphalift[ray]')")
        return 0
    from alphalift.batch.engine import EngineOptions
    from alphalift.batch.ray_engine import (BATCH, cluster_pool_shape, connect, quiet_backend_logs,
                                            quiet_data_context)

    ledger = CpuLedger()
    started = time.perf_counter()
    quiet_backend_logs()
    connect(ray, None)
    quiet_data_context(DataContext.get_current())
    workers, cpus = cluster_pool_shape(ray, EngineOptions(workers=args.workers))
    blocks = max(2, math.ceil(args.seconds / BLOCK_S) * workers)
    items = [{"input": f"image{i}", "output": ""} for i in range(blocks * BATCH)]
    dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        Sleeper, batch_size=None, compute=ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
        num_cpus=cpus, batch_format="numpy")
    first = None
    for _ in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        ledger.sample()
        if first is None:
            first = (time.perf_counter(), ledger.by_name())
    ledger.sample()
    end, final = time.perf_counter(), ledger.by_name()
    ray.shutdown()
    steady_s = end - first[0]
    rows = {name: {"startup_cpu_s": round(first[1][name], 2),
                   "steady_cores": round((final[name] - first[1][name]) / steady_s, 4)}
            for name in final}
    report = {"cpus": os.cpu_count(), "workers": args.workers, "ray": ray.__version__,
              "startup_wall_s": round(first[0] - started, 1), "steady_wall_s": round(steady_s, 1),
              "startup_cpu_s": round(sum(first[1].values()), 1),
              "steady_cores": round(sum(r["steady_cores"] for r in rows.values()), 3),
              "steady_share_of_machine": round(sum(r["steady_cores"] for r in rows.values()) / os.cpu_count(), 3),
              "processes": dict(sorted(rows.items(), key=lambda item: -item[1]["steady_cores"]))}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
