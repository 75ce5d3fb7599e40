"""A grid into pandas and Hugging Face datasets: memory while a dataset is written, and the time per request of both.

Memory: grids of 64 and of 256 full-size stand-in pictures (1024x1024 PNGs, about half a
megabyte each), written with ``grid.to_dataset()``; the peak growth of the process's memory
while it runs must not grow with the grid (it is a batch of rows, ``writer_batch_size``),
and is set against the obvious way (``Dataset.from_dict`` with every picture's bytes in one list). Each is measured in a
fresh interpreter (datasets imported and warmed up first, so its import is not counted),
sampling the anonymous resident memory (``RssAnon`` in ``/proc/self/status``: what the process
holds, not the pages of the Arrow file it maps) every millisecond. Time: a 1,024-request grid (the stand-in's
``--fast`` path, so it is made in seconds), ``to_pandas()`` and ``to_dataset()`` per request.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anyfast_widget import compare, prompts, replace

from ._simulator import API_KEY, simulator_process

MEMORY_SIDES = (8, 16)  # 64 and 256 full-size pictures (the smaller grid's requests are the larger's first ones)
TIME_SIDE = 32  # 32 x 32 = 1,024 requests
ROUNDS = 3
GROWTH_LIMIT = 1.5  # peak at 256 pictures over peak at 64: flat, give or take the noise of a shared machine
PANDAS_LIMIT_MS = 0.5  # per request
DATASET_LIMIT_MS = 5.0  # per request

_MEASURE = """
import gc, json, sys, tempfile, threading, time
import datasets
from anyfast_widget import compare, prompts, replace
url, run_dir, side, way = sys.argv[1:5]
side = int(side)
grid = compare(rows=prompts([f"study {i} of a fox, in ink" for i in range(side)]),
               cols=replace("fox", [f"fox-{j}" for j in range(side)]), quality="low",
               api_key="sk-bench", base_url=url, run_dir=run_dir, run=False, progress=False)
assert grid.plan().to_send == 0
datasets.disable_progress_bars()

def resident():  # anonymous resident memory: what the process holds, not the pages of files it maps (the Arrow file)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon:"))

def naive(cache):
    rows = grid.to_records()
    data = {"result": [{"bytes": s.result.path.read_bytes(), "path": None} for _, s in grid.slots()],
            "result_id": [r["result_id"] for r in rows]}
    features = datasets.Features({"result": datasets.Image(), "result_id": datasets.Value("string")})
    return datasets.Dataset.from_dict(data, features=features)

def ours(cache):
    return grid.to_dataset(cache_dir=cache)

make = ours if way == "ours" else naive
with tempfile.TemporaryDirectory() as warm:  # imports and first-use costs, outside the measure
    datasets.Dataset.from_dict({"x": [1]}).save_to_disk(warm + "/x")
gc.collect()
peak, done = [resident()], threading.Event()
base = peak[0]

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], resident())
        time.sleep(0.001)

watcher = threading.Thread(target=sample)
watcher.start()
with tempfile.TemporaryDirectory() as cache:
    dataset = make(cache)
    done.set()
    watcher.join()
    size = sum(s.result.path.stat().st_size for _, s in grid.slots())
    print(json.dumps({"peak": peak[0] - base, "images": size, "rows": len(dataset)}))
"""


def _grid(url: str, run_dir: str, side: int) -> object:
    return compare(
        rows=prompts([f"study {i} of a fox, in ink" for i in range(side)]),
        cols=replace("fox", [f"fox-{j}" for j in range(side)]),
        quality="low",
        concurrency=32,
        confirm=True,
        api_key=API_KEY,
        base_url=url,
        run_dir=run_dir,
        progress=False,
    )


def _peak(url: str, run_dir: str, side: int, way: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, url, run_dir, str(side), way], capture_output=True, text=True, timeout=600
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _memory() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    small, large = MEMORY_SIDES
    with simulator_process() as url, tempfile.TemporaryDirectory() as run_dir:
        _grid(url, run_dir, large)  # made once; the measures open it (or its corner) from the run store and send nothing
        medians = []
        for side in (small, large):
            measured = sorted((_peak(url, run_dir, side, "ours") for _ in range(ROUNDS)), key=lambda m: m["peak"])
            medians.append(measured[ROUNDS // 2])
        naive = _peak(url, run_dir, large, "naive")
    return medians[0], medians[1], naive


def _times() -> tuple[float, float, int]:
    import datasets

    datasets.disable_progress_bars()
    with simulator_process("--fast") as url, tempfile.TemporaryDirectory() as run_dir:
        grid = _grid(url, run_dir, TIME_SIDE)
        requests = len(list(grid.slots()))
        pandas_s, dataset_s = [], []
        for i in range(ROUNDS):
            start = time.perf_counter()
            grid.to_pandas()
            pandas_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            grid.to_dataset(cache_dir=Path(run_dir) / f"datasets-{i}")  # a fresh cache: written, not read back
            dataset_s.append(time.perf_counter() - start)
    return statistics.median(pandas_s) / requests, statistics.median(dataset_s) / requests, requests


def run() -> list[dict[str, object]]:
    small, large, naive = _memory()
    growth = large["peak"] / small["peak"]
    pandas_per, dataset_per, requests = _times()
    mib = 1024 * 1024
    return [
        {
            "benchmark": f"grid.to_dataset() peak memory while writing, {large['rows']} full-size pictures "
            f"({large['images'] / mib:.0f} MiB) against {small['rows']} (median of {ROUNDS}); peer: Dataset.from_dict "
            f"of all {naive['rows']} pictures' bytes",
            "ours": f"{large['peak'] / mib:.0f} MiB vs {small['peak'] / mib:.0f} MiB (x{growth:.2f})",
            "peer / limit": f"peer {naive['peak'] / mib:.0f} MiB; limit x{GROWTH_LIMIT}",
            "ratio": growth / GROWTH_LIMIT,
            "goal": "<= 1.00",
            "pass": growth <= GROWTH_LIMIT,
        },
        {
            "benchmark": f"grid.to_pandas() of a {requests}-request grid, per request (median of {ROUNDS})",
            "ours": f"{pandas_per * 1000:.3f} ms",
            "peer / limit": f"limit {PANDAS_LIMIT_MS} ms",
            "ratio": pandas_per * 1000 / PANDAS_LIMIT_MS,
            "goal": "<= 1.00",
            "pass": pandas_per * 1000 <= PANDAS_LIMIT_MS,
        },
        {
            "benchmark": f"grid.to_dataset() of a {requests}-request grid (stand-in --fast pictures), per request "
            f"(median of {ROUNDS})",
            "ours": f"{dataset_per * 1000:.2f} ms",
            "peer / limit": f"limit {DATASET_LIMIT_MS} ms",
            "ratio": dataset_per * 1000 / DATASET_LIMIT_MS,
            "goal": "<= 1.00",
            "pass": dataset_per * 1000 <= DATASET_LIMIT_MS,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
