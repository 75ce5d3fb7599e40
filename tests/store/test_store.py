"""The run store: every result on disk with its metadata, found again after restarts and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from anyfast_widget import Client, RunStore
from anyfast_widget.store._store import slugify


def make_client(sim, run_dir):
    return Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)


def test_results_survive_a_restart_and_can_be_found(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        first = client.generate("a blue whale", quality="low")
        client.generate("a green turtle", quality="high")
    store = RunStore(run_dir)  # a fresh process would do exactly this
    assert len(store) == 2
    assert [r.prompt for r in store] == ["a blue whale", "a green turtle"]
    assert [r.prompt for r in store.find(prompt="WHALE")] == ["a blue whale"]
    again = store.get(first.id)
    assert again.data == first.data and again.params == first.params
    assert again.revised_prompt == first.revised_prompt
    assert store.find(request_hash=first.request_hash)[0].id == first.id
    assert store.latest().prompt == "a green turtle"


def test_the_same_request_has_the_same_hash(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        a = client.generate("same", size="1024x1024", response_format="url")
        b = client.generate("same")  # the defaults spelled out or not, and another transport
        c = client.generate("same", quality="high")
    assert a.request_hash == b.request_hash != c.request_hash


def test_file_names_from_prompts_stay_inside_the_run_directory(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        result = client.generate("../../etc/passwd \\ /tmp/x\x00 ~ *?")
    assert result.path.resolve().is_relative_to(run_dir.resolve())
    assert slugify("../../etc/passwd") == "etc-passwd" and slugify("???") == "image"
    assert "/" not in slugify("a/b\\c") and len(slugify("word " * 100)) <= 40


def test_two_writers_at_once_lose_nothing(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as one, make_client(anyfast_simulator, run_dir) as two:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit((one if i % 2 else two).generate, f"image {i}", quality="low") for i in range(24)]
            results = [f.result() for f in futures]
    store = RunStore(run_dir)
    assert len(store) == 24 == len({r.id for r in results})
    assert sorted(r.prompt for r in store) == sorted(f"image {i}" for i in range(24))
    for result in store:
        assert Image.open(result.path).size == (1024, 1024)


WRITER = textwrap.dedent(
    """
    import sys
    from anyfast_widget import Client
    client = Client(api_key=sys.argv[1], base_url=sys.argv[2], run_dir=sys.argv[3])
    for i in range(1000):
        client.generate(f"frame {i}", size="2048x2048", quality="low")
        print(i, flush=True)
    """
)


def test_a_killed_writer_leaves_only_whole_files(anyfast_simulator, run_dir):
    """SIGKILL a process mid-run, several times: every file is whole and every indexed result loads."""
    for delay in (0.4, 0.9, 1.6):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, anyfast_simulator.api_key, anyfast_simulator.base_url, str(run_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        child.stdout.readline()  # at least one result finished
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
    store = RunStore(run_dir)
    assert len(store) >= 3
    for result in store:
        with Image.open(result.path) as image:
            image.load()  # raises on a half-written file
        json.loads(result.sidecar_path.read_text())
    for path in (run_dir / "images").rglob("*"):
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
    indexed = len(store)
    sidecars = list((run_dir / "images").rglob("*.json"))
    whole = [s for s in sidecars if (s.parent / json.loads(s.read_text())["file"]).is_file()]
    # a kill between the sidecar's rename and the image's leaves a lone sidecar: at most one per kill,
    # never indexed, and removed by a later opening once no save could still be under way
    assert len(sidecars) - len(whole) <= 3
    assert store.reindex() == len(whole)
    assert len(RunStore(run_dir)) >= indexed


# -- files reserved while the request is under way ----------------------------------------


def leftovers(run_dir):
    return sorted(p.name for p in (run_dir / "images").rglob("*.tmp"))


def wait_for_no_leftovers(run_dir, seconds=5.0):
    deadline = time.monotonic() + seconds
    while leftovers(run_dir) and time.monotonic() < deadline:
        time.sleep(0.01)
    return leftovers(run_dir)


def test_a_result_is_whole_on_disk_and_indexed_when_generate_returns(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        for i in range(3):
            result = client.generate(f"kept {i}", quality="low")
            # another process (a fresh store) finds it at once, with both files whole
            again = RunStore(run_dir).get(result.id)
            assert again.data == result.data and Image.open(again.path).size == (1024, 1024)
            assert json.loads(result.sidecar_path.read_text())["id"] == result.id
        assert leftovers(run_dir) == [], "the reserved temporary files were renamed into place"


def test_failed_calls_leave_no_reserved_files_behind(anyfast_simulator, run_dir):
    from anyfast_widget import BadRequestError, MalformedResponseError

    with make_client(anyfast_simulator, run_dir) as client:
        anyfast_simulator.fail_next("truncated_b64")
        try:
            client.generate("half an image")
        except MalformedResponseError:
            pass
        try:
            client.generate("blockme")  # refused by the simulator's moderation
        except BadRequestError:
            pass
        assert len(client.store) == 0
    assert wait_for_no_leftovers(run_dir) == []


def test_a_cancelled_async_call_leaves_no_reserved_files_behind(anyfast_simulator, run_dir):
    import asyncio

    from anyfast_widget import AsyncClient

    async def main():
        anyfast_simulator.configure(latency=5.0)
        try:
            sim = anyfast_simulator
            async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
                task = asyncio.create_task(client.generate("never mind"))
                await asyncio.sleep(0.3)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        finally:
            anyfast_simulator.configure(latency=0.0)

    asyncio.run(main())
    assert wait_for_no_leftovers(run_dir) == []
    assert len(RunStore(run_dir)) == 0


def test_saving_still_works_when_the_reserved_files_cannot_be_made(anyfast_simulator, run_dir, monkeypatch):
    from anyfast_widget.store import _store

    def broken(folder):
        raise PermissionError("no new files here just now")

    monkeypatch.setattr(_store, "ReservedFiles", broken)
    with make_client(anyfast_simulator, run_dir) as client:
        result = client.generate("made the ordinary way")
    assert RunStore(run_dir).get(result.id).data == result.data


def test_saving_still_works_when_the_day_folder_vanishes_under_a_reservation(run_dir):
    import shutil

    from anyfast_widget.core._request import prepare_generation

    from ..conftest import encode, gradient

    store = RunStore(run_dir)
    png = encode(gradient(32, 32), "PNG")
    prepared = prepare_generation("survivor")
    common = {"size": (32, 32), "revised_prompt": None, "request_id": None, "timings": {}, "extras": {}}
    first = store.save(prepared, png, **common)
    reservation = store.reserve()
    reservation._future.result()  # the files exist...
    shutil.rmtree(first.path.parent)  # ...and are gone, with their folder
    result = store.save(prepared, png, reservation=reservation, **common)
    assert result.path.read_bytes() == png and RunStore(run_dir).get(result.id).data == png
    assert leftovers(run_dir) == []


def test_a_reservation_is_taken_or_released_once(run_dir):
    store = RunStore(run_dir)
    kept = store.reserve()
    slot = kept.take()
    assert slot is not None and kept.take() is None
    kept.release()  # after take: nothing happens to the files the save is filling
    assert len(leftovers(run_dir)) == 2
    slot.discard()
    released = store.reserve()
    released.release()
    assert released.take() is None
    assert wait_for_no_leftovers(run_dir) == []
    store.close()


def test_the_client_saves_into_files_made_ahead_by_a_helper_thread(anyfast_simulator, run_dir, monkeypatch):
    import threading

    from anyfast_widget.store import _store

    made_in, ordinary = [], []
    real_slot, real_write = _store.ReservedFiles, _store.atomic_write

    def slot(folder):
        made_in.append(threading.current_thread().name)
        return real_slot(folder)

    def write(path, data):
        ordinary.append(path.name)
        real_write(path, data)

    monkeypatch.setattr(_store, "ReservedFiles", slot)
    monkeypatch.setattr(_store, "atomic_write", write)
    with make_client(anyfast_simulator, run_dir) as client:
        client.generate("ahead of time")
    assert len(made_in) == 1 and made_in[0].startswith("anyfast-store")
    assert ordinary == [], "image and sidecar went into the reserved files"


def test_reserved_files_of_a_dead_process_are_swept_on_opening(run_dir):
    import os

    store = RunStore(run_dir)
    fresh, stale = store.reserve(), store.reserve()
    fresh_slot, stale_slot = fresh.take(), stale.take()
    an_hour_ago = time.time() - 3700
    for _, path in (stale_slot.image, stale_slot.sidecar):
        os.utime(path, (an_hour_ago, an_hour_ago))  # as if its process was killed mid-request an hour ago
    RunStore(run_dir)
    remaining = leftovers(run_dir)
    assert sorted(p.name for _, p in (fresh_slot.image, fresh_slot.sidecar)) == remaining, "a live reservation is kept"
    fresh_slot.discard()
    stale_slot.discard()  # closes its descriptors; its files are already gone
    assert leftovers(run_dir) == []
