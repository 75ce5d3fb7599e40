"""When the disk says no: a read-only run directory, a full disk, an unreadable folder, each tested for real.

Read-only is a real read-only bind mount (and an immutable folder, ``chattr +i``);
disk full is a real, tiny tmpfs; permissions are a real process that has given up
root. Where this machine cannot mount (no privileges), those tests are skipped,
saying why. Every error is a StorageError naming the path, the cause and the fix,
and a result that was paid for is never lost without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from anyfast_widget import AnyfastError, AsyncClient, Client, ImageResult, ImageStudio, RunStore, StorageError
from anyfast_widget.core import error_card, prepare_generation, whole_image_size


def make_client(sim, run_dir):
    return Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)


def mount(*args: str) -> None:
    try:
        done = subprocess.run(["mount", *args], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command on this machine")
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


def unmount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


@contextlib.contextmanager
def read_only_view(source: Path, target: Path):
    """``source`` seen through a read-only bind mount at ``target``."""
    target.mkdir()
    mount("--bind", str(source), str(target))
    try:
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
        yield target
    finally:
        unmount(target)


@contextlib.contextmanager
def tiny_disk(target: Path, size: str = "8m"):
    target.mkdir()
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
    try:
        yield target
    finally:
        unmount(target)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` up, leaving ``leave`` bytes free."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            os.write(fd, b"\1" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


# -- read-only ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["closed", "still-open"])
def test_a_read_only_run_directory_opens_for_browsing_and_refuses_to_save(anyfast_simulator, tmp_path, writer):
    source = tmp_path / "runs"
    client = make_client(anyfast_simulator, source)
    results = [client.generate(f"kept {i}", quality="low") for i in range(3)]
    if writer == "closed":
        client.store.close()  # the index is checkpointed: no WAL, no shared memory
    before = files_under(source)
    sent = anyfast_simulator.request_count()
    with read_only_view(source, tmp_path / "ro") as ro:
        store = RunStore(ro)
        assert store.read_only and "read-only" in repr(store)
        assert len(store) == 3 and [r.prompt for r in store] == ["kept 0", "kept 1", "kept 2"]
        assert store.get(results[1].id).data == results[1].data and store.latest().id == results[2].id
        assert store.find(request_hash=results[0].request_hash)[0].id == results[0].id
        assert store.problems() == []

        with make_client(anyfast_simulator, ro) as reader, pytest.raises(StorageError) as raised:
            reader.generate("never sent")
        error = raised.value
        assert error.reason == "read_only" and error.path == ro
        assert "read-only" in error.message and str(ro) in error.message and "run_dir" in error.hint
        assert anyfast_simulator.request_count() == sent, "refused before sending: nothing paid for in vain"
        unmade = RunStore(ro / "a new one")  # nothing is made on opening: an empty history, and saving is refused
        assert unmade.read_only and len(unmade) == 0 and unmade.latest() is None
        with make_client(anyfast_simulator, unmade) as reader, pytest.raises(StorageError) as raised:
            reader.generate("never sent either")
        assert raised.value.reason == "read_only" and raised.value.path == ro / "a new one"
        assert "read-only file system" in raised.value.message
        assert anyfast_simulator.request_count() == sent
        for action in (store.repair, store.reindex):
            with pytest.raises(StorageError, match="read-only"):
                action()
        with pytest.raises(StorageError, match="read-only"):
            store.annotate(store.get(results[0].id), rating=5)

        sim = anyfast_simulator
        studio = ImageStudio(api_key=sim.api_key, base_url=sim.base_url, run_dir=ro)
        try:
            assert [e["prompt"] for e in studio.gallery] == ["kept 2", "kept 1", "kept 0"]
        finally:
            studio.close()
        store.close()
    assert files_under(source) == before, "nothing was written"
    if writer == "still-open":
        client.store.close()


def test_a_read_only_run_directory_with_a_damaged_index_is_read_from_its_files(anyfast_simulator, tmp_path, caplog):
    source = tmp_path / "runs"
    with make_client(anyfast_simulator, source) as client:
        results = [client.generate(f"kept {i}", quality="low") for i in range(3)]
        client.store.close()
    (source / "index.sqlite").write_bytes(b"not a database any more " * 200)
    caplog.set_level(logging.WARNING, logger="anyfast_widget")
    with read_only_view(source, tmp_path / "ro") as ro:
        store = RunStore(ro)
        assert store.read_only and [r.id for r in store] == [r.id for r in results]
        assert any("read from its files" in r.getMessage() for r in caplog.records)
        store.close()
    assert (source / "index.sqlite").read_bytes() == b"not a database any more " * 200, "left as it was"


def test_an_immutable_run_directory_opens_for_browsing(anyfast_simulator, tmp_path):
    source = tmp_path / "runs"
    with make_client(anyfast_simulator, source) as client:
        client.generate("kept", quality="low")
        client.store.close()
    if subprocess.run(["chattr", "+i", str(source)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible here")
    try:
        store = RunStore(source)
        assert store.read_only and [r.prompt for r in store] == ["kept"]
        with make_client(anyfast_simulator, source) as reader, pytest.raises(StorageError) as raised:
            reader.generate("never sent")
        assert raised.value.reason == "read_only" and "may not write" in raised.value.message
        store.close()
    finally:
        subprocess.run(["chattr", "-i", str(source)], check=True)


# -- a full disk --------------------------------------------------------------------------------------------


def generate(flavour: str, sim, run_dir: Path, prompt: str) -> ImageResult:
    if flavour == "sync":
        with make_client(sim, run_dir) as client:
            return client.generate(prompt, quality="low")

    async def call():
        async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
            return await client.generate(prompt, quality="low")

    return asyncio.run(call())


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_full_disk_keeps_the_paid_for_result_in_the_error(anyfast_simulator, tmp_path, flavour):
    with tiny_disk(tmp_path / "disk") as disk:
        run_dir = disk / "runs"
        first = generate(flavour, anyfast_simulator, run_dir, "fits")
        filler = fill(disk, leave=40_000)  # far less than an image
        with pytest.raises(StorageError) as raised:
            generate(flavour, anyfast_simulator, run_dir, "does not fit")
        error = raised.value
        assert isinstance(error, AnyfastError) and error.reason == "disk_full"
        assert "disk is full" in error.message and str(run_dir) in error.message and ".result" in error.message
        assert "save_to" in error.hint and error.request_id
        assert anyfast_simulator.request_count() == 2, "a failed save is not a reason to pay again"
        # the bytes are not lost: they are in the error, whole, with their metadata
        assert isinstance(error.result, ImageResult) and error.result.prompt == "does not fit"
        assert error.data == error.result.data and whole_image_size(error.data) == (1024, 1024)
        rescued = error.result.save_to(tmp_path / "rescued")
        with Image.open(rescued) as image:
            image.load()
        assert rescued.read_bytes() == error.data
        assert json.loads(rescued.with_suffix(".json").read_text())["prompt"] == "does not fit"
        assert error.save_to(tmp_path / "again.png").read_bytes() == error.data
        # nothing half-written is left in the run directory
        on_disk = sorted(p.name for p in (run_dir / "images").rglob("*") if p.is_file())
        assert on_disk == sorted([first.path.name, first.sidecar_path.name])
        assert len(RunStore(run_dir)) == 1 and RunStore(run_dir).problems() == []
        fill(disk, leave=0)
        assert len(RunStore(disk / "another")) == 0  # opening makes nothing, so it works on a full disk
        with pytest.raises(StorageError) as raised:  # saving into it must make it: not even a new index fits
            generate(flavour, anyfast_simulator, disk / "another", "no room")
        assert raised.value.reason == "disk_full"
        assert anyfast_simulator.request_count() == 2, "refused before sending"
        # room again: saving works again
        filler.unlink()
        generate(flavour, anyfast_simulator, run_dir, "fits again")
        assert [r.prompt for r in RunStore(run_dir)] == ["fits", "fits again"]


def test_a_full_disk_that_stops_the_index_leaves_the_files_whole_and_they_are_indexed_later(tmp_path):
    with tiny_disk(tmp_path / "disk", size="4m") as disk:
        store = RunStore(disk / "runs")
        prepared = prepare_generation("the index could not take it")
        common = {"size": (300, 300), "revised_prompt": None, "request_id": None, "timings": {}, "extras": {}}
        buffer = io.BytesIO()
        Image.effect_noise((300, 300), 60).convert("RGB").save(buffer, "PNG")
        data = buffer.getvalue()
        store.save(prepared, data, **common)  # the WAL exists; the next commit must grow it
        pages = -(-len(data) // 4096) + 1  # room for the image and the sidecar, and not a page more
        filler = fill(disk, leave=pages * 4096)
        with pytest.raises(StorageError) as raised:
            store.save(prepared, data, **common)
        error = raised.value
        assert error.reason == "disk_full" and "index" in error.message and str(error.result.path) in error.message
        assert error.result.path.read_bytes() == data
        assert json.loads(error.result.sidecar_path.read_text())["id"] == error.result.id
        filler.unlink()
        store.close()
        assert RunStore(disk / "runs").get(error.result.id).data == data, "indexed when next opened"


# -- permissions, as a process without root's powers ----------------------------------------------------------

AS_NOBODY = textwrap.dedent(
    """
    import json, os, sys
    from anyfast_widget import RunStore, StorageError
    os.setgid(65534)
    os.setuid(65534)  # from here on, permissions hold
    out = {}
    for name in sys.argv[1:]:
        try:
            store = RunStore(name)
        except StorageError as error:
            out[name] = {"error": error.reason, "message": error.message, "hint": error.hint, "path": str(error.path)}
            continue
        seen = {"read_only": store.read_only, "prompts": [r.prompt for r in store]}
        seen["problems"] = [p.kind for p in store.problems()]
        try:
            store.reserve().release()
            seen["save"] = "allowed"
        except StorageError as error:
            seen["save"] = error.reason
        out[name] = seen
    print(json.dumps(out))
    """
)


def test_permissions_unreadable_and_unwritable_places_are_named_and_the_rest_is_browsable(anyfast_simulator):
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process that then gives up root")
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # (pytest's folders are closed to other users)
    try:
        os.chmod(base, 0o755)
        made = {}
        for name in ("locked", "readable", "index-locked"):
            with make_client(anyfast_simulator, base / name) as client:
                made[name] = [client.generate(f"{name} {i}", quality="low") for i in range(2)]
                client.store.close()
        os.chmod(base / "locked", 0o700)  # root's alone
        os.chmod(made["readable"][0].sidecar_path, 0o600)  # one sidecar only root may read
        for path in [base / "index-locked", *(base / "index-locked").rglob("*")]:
            if path.name != "index.sqlite":
                os.chown(path, 65534, 65534)  # everything is theirs but the index
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        folders = [str(base / name) for name in ("locked", "readable", "index-locked")]
        done = subprocess.run([sys.executable, "-c", AS_NOBODY, *folders], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        locked, readable, index_locked = (json.loads(done.stdout)[f] for f in folders)
        assert locked["error"] in ("unreadable", "no_permission") and locked["path"] == folders[0]
        assert "permission" in locked["hint"] + locked["message"]
        assert readable == {"read_only": True, "prompts": ["readable 1"], "problems": ["unreadable"], "save": "read_only"}
        assert index_locked == {"read_only": True, "prompts": ["index-locked 0", "index-locked 1"], "problems": [],
                                "save": "read_only"}  # fmt: skip
    finally:
        shutil.rmtree(base)


# -- the error itself ---------------------------------------------------------------------------------------------


def test_a_storage_error_is_part_of_the_error_tree_and_shows_as_a_card(tmp_path):
    import anyfast_widget

    assert "StorageError" in anyfast_widget.__all__ and issubclass(StorageError, AnyfastError)
    error = StorageError("Could not save.", path=tmp_path, reason="disk_full", data=b"\x89PNG...", hint="Free space.")
    card = error_card(error)
    assert card == {"title": "The run directory has a problem", "message": "Could not save.", "hint": "Free space."}
    assert error.save_to(tmp_path / "kept.png").read_bytes() == b"\x89PNG..."
    with pytest.raises(ValueError):
        StorageError("nothing held").save_to(tmp_path / "x.png")
