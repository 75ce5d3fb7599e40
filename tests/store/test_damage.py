"""Damage in a run directory costs only the damaged result: the rest loads, the damage is reported, and repaired.

Every result here comes over real HTTP from the stand-in server; the damage is done
to the files on disk as a crash, a bad copy or a careless hand would do it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3

import pytest
from PIL import Image

from anyfast_widget import Client, ImageStudio, RunStore, StorageError


def make_client(sim, run_dir):
    return Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)


def made(sim, run_dir, count=4):
    """``count`` results saved over HTTP, and the client's own store closed (as when its kernel ends)."""
    with make_client(sim, run_dir) as client:
        results = [client.generate(f"picture {i}", quality="low") for i in range(count)]
        client.store.close()
    return results


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


DAMAGE = {
    "sidecar-garbage": lambda r: r.sidecar_path.write_bytes(os.urandom(300)),
    "sidecar-cut-short": lambda r: truncate(r.sidecar_path),
    "sidecar-empty": lambda r: r.sidecar_path.write_bytes(b""),
    "sidecar-missing": lambda r: r.sidecar_path.unlink(),
    "sidecar-not-a-record": lambda r: r.sidecar_path.write_text("[1, 2, 3]"),
    "sidecar-lacks-fields": lambda r: r.sidecar_path.write_text(json.dumps({"id": r.id, "prompt": r.prompt})),
    "sidecar-wrong-types": lambda r: r.sidecar_path.write_text(
        json.dumps({**json.loads(r.sidecar_path.read_text()), "width": "wide", "prompt": None})
    ),
    "sidecar-of-another": lambda r: r.sidecar_path.write_text(json.dumps({**r.metadata(), "id": "x", "file": "x.png"})),
    "image-cut-short": lambda r: truncate(r.path),
    "image-empty": lambda r: r.path.write_bytes(b""),
    "image-garbage": lambda r: r.path.write_bytes(os.urandom(5000)),
    "image-missing": lambda r: r.path.unlink(),
    "row-points-nowhere": lambda r: _sql(r, "UPDATE results SET file = 'images/1999-01-01/gone.png' WHERE id = ?", r.id),
    "row-escapes-the-directory": lambda r: _sql(r, "UPDATE results SET file = '../../etc/passwd' WHERE id = ?", r.id),
    "row-of-another-id": lambda r: _sql(r, "UPDATE results SET id = 'not-its-id' WHERE id = ?", r.id),
}


def _sql(result, statement, *values):
    db = sqlite3.connect(result.path.parents[2] / "index.sqlite")
    with db:
        db.execute(statement, values)
    db.close()


# What problems() reports for each damage (one, except where a bad row also leaves its files unindexed).
ALSO_UNINDEXED = {
    "row-points-nowhere": "image_missing",
    "row-escapes-the-directory": "row_damaged",
    "row-of-another-id": "row_damaged",
}
LOST_FOR_GOOD = {"image-cut-short", "image-empty", "image-garbage", "image-missing"}  # repair() quarantines these


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_one_damaged_result_costs_only_itself_and_repair_mends_or_quarantines_it(anyfast_simulator, run_dir, caplog, damage):
    results = made(anyfast_simulator, run_dir)
    hurt = results[1]
    store = RunStore(run_dir)  # open while whole (opening would mend a missing row of the newest day at once)
    DAMAGE[damage](hurt)
    caplog.set_level(logging.WARNING, logger="anyfast_widget")

    others = [r.prompt for r in results if r is not hurt]
    assert [r.prompt for r in store] == others
    assert [r.prompt for r in store.find(newest_first=False)] == others
    assert [r.prompt for r in store.find(limit=3)] == others[::-1], "a damaged result does not make the page short"
    assert store.latest().prompt == "picture 3"
    assert [r.prompt for r in store.find(prompt="picture 1")] == []
    for result in results:
        if result is not hurt:
            assert store.get(result.id).data == result.data
    if damage in ("image-cut-short", "image-empty", "image-garbage"):  # asked for by id, it is handed over as it is
        assert store.get(hurt.id).path == hurt.path
    elif damage != "row-of-another-id":  # (no row has its id any more)
        with pytest.raises(StorageError) as raised:
            store.get(hurt.id)
        assert raised.value.hint and raised.value.path is not None and raised.value.reason in ("damaged", "missing")

    problems = store.problems()
    kinds = sorted(p.kind for p in problems)
    if damage in ALSO_UNINDEXED:
        assert kinds == sorted([ALSO_UNINDEXED[damage], "not_indexed"])
    else:
        assert len(problems) == 1
    problem = next(p for p in problems if p.kind != "not_indexed")
    assert problem.path.is_relative_to(run_dir) and problem.what and "repair" in problem.fix
    assert str(problem.path) in str(problem) and problem.fix in str(problem)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "left out" in r.getMessage()]
    assert len(warned) == 1 and problem.what in warned[0], "one warning, saying what and where"
    store.find()
    assert len([r for r in caplog.records if "left out" in r.getMessage()]) == 1, "said once, not on every find"

    assert len(store.repair()) == len(problems)
    assert store.problems() == []
    mended = [r.prompt for r in results if r is not hurt or damage not in LOST_FOR_GOOD]
    assert [r.prompt for r in RunStore(run_dir)] == mended
    if damage in LOST_FOR_GOOD and damage != "image-missing":
        assert (run_dir / "quarantine" / hurt.path.relative_to(run_dir)).is_file(), "the image is kept, aside"


def test_an_image_studio_opens_on_a_run_directory_with_a_damaged_sidecar(anyfast_simulator, run_dir):
    results = made(anyfast_simulator, run_dir, 3)
    results[1].sidecar_path.write_text('{"id": "20261123T')  # a write cut off mid-way
    sim = anyfast_simulator
    studio = ImageStudio(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)
    try:
        assert [e["prompt"] for e in studio.gallery] == ["picture 2", "picture 0"]
        studio.prompt = "after the damage"
        (new,) = studio.run()  # and it still makes and saves new results
        assert [e["prompt"] for e in studio.gallery][0] == "after the damage"
        assert RunStore(run_dir).get(new.id).data == new.data
    finally:
        studio.close()


def test_repair_rebuilds_sidecars_from_the_image_and_the_index_row(anyfast_simulator, run_dir):
    results = made(anyfast_simulator, run_dir, 3)
    lost, broken = results[0], results[1]
    original = json.loads(broken.sidecar_path.read_text())
    lost.sidecar_path.unlink()
    broken.sidecar_path.write_bytes(broken.sidecar_path.read_bytes()[:200])

    store = RunStore(run_dir)
    assert sorted(p.kind for p in store.problems()) == ["sidecar_damaged", "sidecar_missing"]
    done = store.repair()
    assert len(done) == 2 and all("rebuilt the sidecar" in d.done for d in done)
    assert store.problems() == []
    assert [r.prompt for r in store] == ["picture 0", "picture 1", "picture 2"]
    again = store.get(broken.id)
    for field in ("prompt", "endpoint", "params", "request_hash", "request_id", "revised_prompt", "created_at", "format"):
        assert getattr(again, field) == getattr(broken, field), field
    assert again.size == broken.size == Image.open(broken.path).size and again.data == broken.data
    assert again.annotations["repaired"]["from"] == ["the image", "the index row"]
    assert "timings" in again.annotations["repaired"]["lost"]
    # the damaged sidecar is kept, byte for byte, in quarantine/
    kept = run_dir / "quarantine" / broken.sidecar_path.relative_to(run_dir)
    assert kept.read_bytes() == json.dumps(original, indent=2, ensure_ascii=False).encode()[:200]
    assert len(RunStore(run_dir).find(request_hash=lost.request_hash)) == 1, "a resumed grid finds it again"


def test_repair_keeps_what_remains_of_a_sidecar_without_an_index_row(anyfast_simulator, run_dir):
    (result,) = made(anyfast_simulator, run_dir, 1)
    meta = json.loads(result.sidecar_path.read_text())
    del meta["width"], meta["format"]  # an old or hand-edited sidecar
    result.sidecar_path.write_text(json.dumps(meta))
    _sql(result, "DELETE FROM results")
    store = RunStore(run_dir)
    assert len(store) == 0 and [p.kind for p in store.problems()] == ["sidecar_damaged"]
    (done,) = store.repair()
    again = store.get(result.id)
    assert (again.prompt, again.params, again.timings, again.size) == (result.prompt, result.params, result.timings, result.size)
    assert store.problems() == [] and "what remained of the sidecar" in done.done


def test_repair_quarantines_what_cannot_be_rebuilt_and_deletes_no_image(anyfast_simulator, run_dir):
    cut, gone, bare, fine = made(anyfast_simulator, run_dir, 4)
    cut_bytes = cut.path.read_bytes()[:3000]
    cut.path.write_bytes(cut_bytes)  # a damaged image
    gone.path.unlink()  # an image deleted by hand: its row and sidecar remain
    bare_bytes = bare.path.read_bytes()
    bare.sidecar_path.unlink()  # an image whose prompt nothing remembers any more
    _sql(bare, "DELETE FROM results WHERE id = ?", bare.id)
    os.utime(gone.sidecar_path, (0, 0))  # an hour old and more: opening sweeps only sidecars that no row names

    store = RunStore(run_dir)
    kinds = sorted(p.kind for p in store.problems())
    assert kinds == ["image_damaged", "image_missing", "sidecar_missing"]
    done = store.repair()
    assert len(done) == 3
    assert store.problems() == []
    assert [r.id for r in store] == [fine.id] and len(store) == 1
    quarantine = run_dir / "quarantine"
    assert (quarantine / cut.path.relative_to(run_dir)).read_bytes() == cut_bytes
    assert (quarantine / bare.path.relative_to(run_dir)).read_bytes() == bare_bytes
    assert (quarantine / cut.sidecar_path.relative_to(run_dir)).is_file()
    assert (quarantine / gone.sidecar_path.relative_to(run_dir)).is_file()
    log = [json.loads(line) for line in (quarantine / "log.jsonl").read_text().splitlines()]
    assert {entry["row"]["id"] for entry in log if "row" in entry} == {cut.id, gone.id}, "the rows taken out are kept"
    assert all(entry["why"] for entry in log)
    assert not list((run_dir / "images").rglob(f"{bare.id}*")), "nothing of it is left where results are looked for"


def test_repair_rebuilds_index_rows_from_whole_files(anyfast_simulator, run_dir):
    a, b, c = made(anyfast_simulator, run_dir, 3)
    store = RunStore(run_dir)
    db = sqlite3.connect(run_dir / "index.sqlite")
    with db:
        db.execute("DELETE FROM results WHERE id = ?", (a.id,))  # a row lost
        db.execute("UPDATE results SET file = 'elsewhere', id = 'junk' WHERE id = ?", (b.id,))  # a row garbled
        db.execute("UPDATE results SET prompt = 'not what was asked' WHERE id = ?", (c.id,))  # a row that lies
    db.close()
    assert sorted(p.kind for p in store.problems()) == ["not_indexed", "not_indexed", "row_damaged", "row_stale"]
    store.repair()
    assert store.problems() == []
    assert [r.id for r in store] == [a.id, b.id, c.id]
    assert [r.id for r in store.find(prompt="picture 2")] == [c.id]


@pytest.mark.parametrize("damage", ["garbage", "text", "truncated", "header-zeroed", "garbage-inside", "emptied", "deleted"])
def test_a_damaged_index_is_moved_aside_and_rebuilt_from_the_files_on_opening(anyfast_simulator, run_dir, caplog, damage):
    results = made(anyfast_simulator, run_dir, 40)
    index = run_dir / "index.sqlite"
    size = index.stat().st_size
    if damage == "garbage":
        index.write_bytes(os.urandom(size))
    elif damage == "text":
        index.write_text("this is not a database\n" * 100)
    elif damage == "truncated":
        os.truncate(index, size // 3)
    elif damage == "header-zeroed":
        with open(index, "r+b") as file:
            file.write(b"\0" * 100)
    elif damage == "garbage-inside":
        with open(index, "r+b") as file:
            file.seek(size // 2)
            file.write(os.urandom(8192))
    elif damage == "emptied":
        index.write_bytes(b"")
    else:
        index.unlink()
    bad = index.read_bytes() if index.exists() else b""
    caplog.set_level(logging.WARNING, logger="anyfast_widget")

    store = RunStore(run_dir)
    assert len(store) == 40 and [r.id for r in store] == [r.id for r in results]
    assert store.problems() == []
    assert any("rebuilt from the files" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    if bad:  # a file that held something is kept, as it was, not deleted
        (kept,) = (run_dir / "quarantine").glob("index.sqlite.damaged-*[0-9a-f]")
        assert kept.read_bytes() == bad
    with make_client(anyfast_simulator, run_dir) as client:
        client.generate("after the rebuild")
    assert len(RunStore(run_dir)) == 41


def test_an_index_damaged_while_open_is_rebuilt_when_sqlite_notices(anyfast_simulator, run_dir, caplog):
    results = made(anyfast_simulator, run_dir, 40)
    store = RunStore(run_dir)
    store.close()
    index = run_dir / "index.sqlite"
    with open(index, "r+b") as file:  # pages in the middle of the table, which opening does not read
        file.seek(index.stat().st_size // 2)
        file.write(os.urandom(8192))
    store = RunStore(run_dir)
    assert [r.id for r in store.find(newest_first=False)] == [r.id for r in results]


OPENER = """
import sys
from anyfast_widget import RunStore
print("ready", flush=True)
sys.stdin.readline()
store = RunStore(sys.argv[1])
print(len(store), len(store.find()), flush=True)
"""


def test_processes_that_open_a_damaged_index_at_once_replace_it_once(anyfast_simulator, run_dir):
    import subprocess
    import sys

    made(anyfast_simulator, run_dir, 12)
    (run_dir / "index.sqlite").write_bytes(b"not a database " * 500)
    openers = [
        subprocess.Popen([sys.executable, "-c", OPENER, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for opener in openers:
        assert opener.stdout.readline() == "ready\n"
    for opener in openers:  # all at the same moment
        opener.stdin.write("go\n")
        opener.stdin.flush()
    outputs = [opener.communicate(timeout=60)[0] for opener in openers]
    assert outputs == ["12 12\n"] * 4
    assert len(list((run_dir / "quarantine").glob("index.sqlite.damaged-*[0-9a-f]"))) == 1, "moved aside once, not the new one"
    assert len(RunStore(run_dir)) == 12
