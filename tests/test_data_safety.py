"""Data safety: a kernel killed mid-grid, and several writers in one run directory at once.

The run store's promise: whatever finished is on disk, whole, and in the index; no file is
ever half-written where a result is looked for; a resumed grid sends only what is missing;
and writers sharing a run directory (two studios, two notebooks) lose and overwrite nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from anyfast_widget import ImageStudio, RunStore, compare, replace
from anyfast_widget.core._request import prepare_generation

from .conftest import encode

CELLS = 16
LATENCY = 0.3


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_rows(run_dir: Path) -> dict[str, str]:
    """id -> file, read straight from the index, as another program would (no RunStore, so no tidying)."""
    db = sqlite3.connect(run_dir / "index.sqlite")
    try:
        return dict(db.execute("SELECT id, file FROM results"))
    finally:
        db.close()


@dataclass
class Audit:
    rows: dict[str, str]  # id -> file, once the store was opened
    recovered: int  # results whose row was missing and that opening the store indexed
    leftovers: list[Path]  # temporary files and sidecars whose image never came: never results


def audit(run_dir: Path) -> Audit:
    """Open the run directory as the next session would, then check every promise, file by file."""
    before = len(index_rows(run_dir))
    store = RunStore(run_dir)
    rows = index_rows(run_dir)
    leftovers: list[Path] = []
    try:
        for result_id, file in rows.items():  # nothing in the index points to a missing or partial file
            path = run_dir / file
            assert path.is_file(), f"the index points to a missing file: {file}"
            with Image.open(path) as image:
                image.load()  # raises on a truncated file
                size = image.size
            meta = json.loads(path.with_suffix(".json").read_text())
            assert (meta["id"], meta["file"], (meta["width"], meta["height"])) == (result_id, path.name, size)
        indexed = {run_dir / f for f in rows.values()}
        for path in sorted((run_dir / "images").glob("*/*")):
            if path.name.startswith("."):  # a temporary file: never a result's name
                assert path.suffix == ".tmp", path
                leftovers.append(path)
            elif path.suffix in (".png", ".jpg"):  # every image in place is whole, described and indexed
                assert path in indexed, f"an image nobody knows of: {path.name}"
                assert path.with_suffix(".json").is_file()
            elif path.suffix == ".json" and not any(path.with_suffix(s).exists() for s in (".png", ".jpg")):
                leftovers.append(path)  # its process died between the sidecar and the image: not a result
            else:
                assert path.suffix == ".json", f"an unexpected file: {path}"
        for path in sorted((run_dir / "inputs").iterdir()):
            if path.name.startswith("."):
                assert path.suffix == ".tmp", path
                leftovers.append(path)
            else:  # inputs are named by their content
                assert sha256(path.read_bytes()) == path.name.split(".")[0]
        assert store.reindex() == len(rows), "the sidecars on disk and the index tell the same story"
        assert index_rows(run_dir) == rows
    finally:
        store.close()
    return Audit(rows, len(rows) - before, leftovers)


def sweep_an_hour_later(run_dir: Path, leftovers: list[Path]) -> None:
    """Leftovers of dead processes are removed once they are older than any live save could be."""
    an_hour_ago = time.time() - 3700
    for path in leftovers:
        os.utime(path, (an_hour_ago, an_hour_ago))
    rows = index_rows(run_dir)
    RunStore(run_dir).close()
    assert [p for p in leftovers if p.exists()] == []
    assert index_rows(run_dir) == rows
    assert audit(run_dir).leftovers == []


# -- a Jupyter kernel killed in the middle of a grid ------------------------------------------------


GRID_CELL = """
from anyfast_widget import compare, replace
grid = compare("a fox", cols=replace("fox", [f"fox {{i}}" for i in range({cells})]), concurrency=4, quality="low",
               api_key={key!r}, base_url={url!r}, run_dir={run_dir!r})
assert grid.running  # in a kernel the grid runs in the background; the cell returns at once
"""


def grid_in(run_dir: Path, sim, **options):
    columns = replace("fox", [f"fox {i}" for i in range(CELLS)])
    return compare(
        "a fox",
        cols=columns,
        concurrency=4,
        quality="low",
        api_key=sim.api_key,
        base_url=sim.base_url,
        run_dir=run_dir,
        progress=False,
        **options,
    )


def wait_until_quiet(sim, quiet: float = 0.3) -> int:
    """The request count once nothing more arrives (a dead kernel's last bytes may still be on their way)."""
    count, since = sim.request_count(), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.02)
        if sim.request_count() != count:
            count, since = sim.request_count(), time.monotonic()
    return count


@pytest.fixture
def kernel(tmp_path):
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client, code: str) -> None:
    msg_id = client.execute(code)
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content = reply["content"]
    assert content["status"] == "ok", "\n".join(content.get("traceback", [content.get("evalue", "")]))


@pytest.mark.parametrize(
    ("kill_when", "count"),
    [("sent", 4), ("stored", 1), ("stored", 6), ("stored", 11)],
    ids=["in-flight-only", "after-1", "after-6", "after-11"],
)
def test_a_kernel_killed_mid_grid_keeps_what_finished_and_the_resume_sends_only_the_rest(
    kernel, anyfast_simulator, run_dir, kill_when, count
):
    manager, client = kernel
    anyfast_simulator.configure(latency=LATENCY)
    watcher = RunStore(run_dir)  # another process watching the index, as a second notebook would
    cell = GRID_CELL.format(cells=CELLS, key=anyfast_simulator.api_key, url=anyfast_simulator.base_url, run_dir=str(run_dir))
    execute(client, cell)
    deadline = time.monotonic() + 30
    while (anyfast_simulator.request_count() if kill_when == "sent" else len(watcher)) < count:
        assert time.monotonic() < deadline and manager.is_alive(), "the grid did not get going"
        time.sleep(0.002)
    # The answers of a round arrive together: the first of them stored means the others are being saved now.
    os.kill(manager.provisioner.pid, signal.SIGKILL)
    seen_at_kill = len(watcher)
    watcher.close()
    manager.provisioner.process.wait(10)
    sent = wait_until_quiet(anyfast_simulator)

    found = audit(run_dir)
    stored = len(found.rows)
    assert seen_at_kill <= stored < CELLS, "everything that finished is still there, and the grid was cut short"
    assert stored <= sent
    print(
        f"\n[{kill_when} {count}] killed with {seen_at_kill} stored and {sent} sent; after reopening {stored} stored "
        f"({found.recovered} recovered), {sent - stored} in flight, leftovers: {[p.name for p in found.leftovers]}"
    )

    resumed = grid_in(run_dir, anyfast_simulator, run=False)
    plan = resumed.plan()
    assert (plan.cached, plan.to_send) == (stored, CELLS - stored)
    resumed.run()
    assert anyfast_simulator.request_count() - sent == CELLS - stored, "the resume sent exactly what was missing"
    assert all(c.status == "done" for c in resumed.cells)
    assert set(found.rows) <= {r.id for c in resumed.cells for r in c.results}, "what finished before was reused"
    final = audit(run_dir)
    assert len(final.rows) == CELLS and final.recovered == 0
    assert sorted(r.prompt for r in RunStore(run_dir)) == sorted(f"a fox {i}" for i in range(CELLS))
    sweep_an_hour_later(run_dir, final.leftovers)


# -- processes killed in the middle of saving -----------------------------------------------------------

SAVER = textwrap.dedent(
    """
    import io, sys, threading
    from PIL import Image
    from anyfast_widget import RunStore
    from anyfast_widget.core._request import prepare_generation
    store = RunStore(sys.argv[1])
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, "PNG")
    prepared = prepare_generation("saved in a loop")

    def save_forever():
        while True:
            store.save(prepared, buffer.getvalue(), size=(64, 64), revised_prompt=None, request_id=None, timings={}, extras={})

    for _ in range(3):
        threading.Thread(target=save_forever, daemon=True).start()
    print("saving", flush=True)
    save_forever()
    """
)


def test_processes_killed_while_saving_leave_only_whole_indexed_results(run_dir):
    """Saving without pause (no network in between), so that every kill lands in the middle of saves.

    Two processes of four threads each share the run directory; both are killed at once, at several moments.
    """
    for delay in (0.02, 0.07, 0.13, 0.21):
        savers = [
            subprocess.Popen([sys.executable, "-c", SAVER, str(run_dir)], stdout=subprocess.PIPE, text=True) for _ in range(2)
        ]
        for saver in savers:
            assert saver.stdout.readline() == "saving\n"
        time.sleep(delay)
        for saver in savers:
            saver.send_signal(signal.SIGKILL)
        for saver in savers:
            saver.wait()
            saver.stdout.close()
    found = audit(run_dir)
    print(f"\n{len(found.rows)} saved, {found.recovered} recovered on opening, {len(found.leftovers)} leftovers")
    assert len(found.rows) > 0
    # Eight processes' threads were cut off mid-save: some of that shows (else the kills came too late to test anything).
    assert found.recovered + len(found.leftovers) > 0
    sweep_an_hour_later(run_dir, found.leftovers)


# -- several writers in one run directory -----------------------------------------------------------------


def check_reported(run_dir: Path, reported: dict[str, str]) -> None:
    """Every result a writer was handed is in the store, under its own id and file, with the bytes it was handed."""
    store = RunStore(run_dir)
    try:
        assert len(store) == len(reported)
        files = set()
        for result_id, digest in reported.items():
            result = store.get(result_id)
            assert sha256(result.path.read_bytes()) == digest, f"{result.path.name} was overwritten"
            assert json.loads(result.sidecar_path.read_text())["id"] == result_id
            files.add(result.path)
        assert len(files) == len(reported)
    finally:
        store.close()
    assert audit(run_dir).leftovers == []


def test_stores_opened_at_the_same_moment_on_a_new_directory_all_open(tmp_path):
    """Switching a new index to WAL together made SQLite refuse one at once ("database is locked")."""
    for trial in range(40):
        folder = tmp_path / f"runs-{trial}"
        barrier, errors = threading.Barrier(4), []

        def open_store() -> None:
            barrier.wait()
            try:
                RunStore(folder).close()
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []


def test_two_run_stores_saving_from_threads_lose_nothing(run_dir):
    """Two stores on one new directory, opened at the same moment, each saved into by four threads at once."""
    prepared = prepare_generation("the same prompt")
    opening, saving = threading.Barrier(2), threading.Barrier(8)
    stores: list[RunStore] = []
    reported: dict[str, str] = {}
    lock = threading.Lock()

    def open_store() -> None:
        opening.wait()
        store = RunStore(run_dir)
        with lock:
            stores.append(store)

    def save(writer: int) -> None:
        saving.wait()
        for i in range(10):
            data = encode(Image.new("RGB", (32, 32), (writer, i, 7)), "PNG")  # each result's own bytes
            result = stores[writer % 2].save(
                prepared, data, size=(32, 32), revised_prompt=None, request_id=None, timings={}, extras={}
            )
            with lock:
                reported[result.id] = sha256(data)

    for group in (
        [threading.Thread(target=open_store) for _ in range(2)],
        [threading.Thread(target=save, args=(w,)) for w in range(8)],
    ):
        for thread in group:
            thread.start()
        for thread in group:
            thread.join()
    for store in stores:
        store.close()
    assert len(reported) == 80
    check_reported(run_dir, reported)


async def test_two_studios_in_one_kernel_share_a_run_directory(anyfast_simulator, run_dir):
    anyfast_simulator.configure(latency=0.1)
    options = {"api_key": anyfast_simulator.api_key, "base_url": anyfast_simulator.base_url, "run_dir": run_dir, "variants": 4}
    one, two = ImageStudio("a lighthouse at dusk", **options), ImageStudio("a lighthouse at dusk", **options)
    try:
        results = []
        for _ in range(3):
            for batch in await asyncio.gather(one.run(), two.run()):
                results += batch
    finally:
        one.close()
        two.close()
    assert len(results) == 24 == len({r.id for r in results})
    check_reported(run_dir, {r.id: sha256(r.data) for r in results})


STUDIO_KERNEL = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    from PIL import Image
    from anyfast_widget import ImageStudio
    key, url, run_dir = sys.argv[1:4]
    print("ready", flush=True)
    sys.stdin.readline()  # both processes open the new run directory at the same moment
    studio = ImageStudio("a lighthouse at dusk", api_key=key, base_url=url, run_dir=run_dir, history=0, variants=4)
    shown = studio.run()
    y, x = np.mgrid[0:1024, 0:1024]
    studio.sources = [Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))]
    studio.mask_edits = [{"op": "stroke", "points": [300.0, 300.0, 700.0, 700.0], "radius": 80.0, "mode": "paint"}]
    studio.mask_tools = {"grow": 0, "feather": 4, "keep_outside": True}
    studio.variants = 2
    shown += studio.run()
    for result in shown:
        print(json.dumps({"id": result.id, "sha256": hashlib.sha256(result.data).hexdigest(), **result.annotations}), flush=True)
    """
)


def test_two_kernels_generating_and_editing_into_one_run_directory_lose_nothing(anyfast_simulator, run_dir):
    """Two notebooks (two processes) with one prompt and one set of parameters, writing at the same time."""
    anyfast_simulator.configure(latency=0.1, leak=0.3)
    args = [anyfast_simulator.api_key, anyfast_simulator.base_url, str(run_dir)]
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", STUDIO_KERNEL, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in kernels:
        assert process.stdout.readline() == "ready\n"
    for process in kernels:
        process.stdin.write("go\n")
        process.stdin.flush()
    shown = []
    for process in kernels:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        shown += [json.loads(line) for line in out.splitlines()]
    assert len(shown) == 2 * (4 + 2)
    store = RunStore(run_dir)
    raw_ids = []
    for derived in (s for s in shown if "derived_from" in s):  # an edit shown with the original kept outside its mask
        raw = store.get(derived["derived_from"])
        assert raw.annotations["shown_as"] == derived["id"] and "mask_change" in raw.annotations
        raw_ids.append(raw.id)
    assert len(raw_ids) == 4 and anyfast_simulator.request_count() == 12
    # The raw edits behind them were handed to no one: they are counted here, and audit() decodes each whole.
    reported = {s["id"]: s["sha256"] for s in shown} | {i: sha256(store.get(i).path.read_bytes()) for i in raw_ids}
    store.close()
    check_reported(run_dir, reported)
    # Both sent the same source and mask: one whole copy of each (audit checked each file against its name).
    assert len(list((run_dir / "inputs").iterdir())) == 2


def test_two_kernels_rating_one_grid_keep_both_ratings(anyfast_simulator, run_dir):
    """Each kernel holds the grid's state; a rating must not write over the other kernel's."""
    sim = anyfast_simulator
    options = dict(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, run=False, progress=False)
    first, second = (compare("a fox", cols={"quality": ["low", "high"]}, **options) for _ in range(2))
    assert first.id == second.id
    first.rate("r1", "r2", "a")
    second.rate("r3", "r4", "b")
    first.rate("r5", "r6", "tie")
    again = compare("a fox", cols={"quality": ["low", "high"]}, **options)
    assert [r["winner"] for r in again.ratings] == ["a", "b", "tie"]
    assert anyfast_simulator.request_count() == 0
