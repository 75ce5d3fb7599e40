"""Opening a run store whose newest day folder holds many results: it counts instead of reading every file, and still
indexes what a process killed mid-save left whole, and sweeps what it left half-made."""

from __future__ import annotations

import io
import os
import sqlite3
import time

from PIL import Image

from anyfast_widget import prepare_generation
from anyfast_widget.store import RunStore

RESULTS = 60


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _filled(run_dir) -> list:
    store = RunStore(run_dir)
    data = _png()
    saved = [
        store.save(prepare_generation(f"a fox, study {i}"), data, size=(32, 32), revised_prompt=None, request_id=f"req_{i}",
                   timings={}, extras={})
        for i in range(RESULTS)
    ]  # fmt: skip
    store.close()
    return saved


def _drop_row(run_dir, result_id: str) -> None:
    with sqlite3.connect(run_dir / "index.sqlite") as db:
        db.execute("DELETE FROM results WHERE id = ?", (result_id,))
    db.close()


def test_a_result_whose_row_a_killed_process_never_wrote_is_indexed_on_opening(run_dir):
    saved = _filled(run_dir)
    _drop_row(run_dir, saved[17].id)  # as if its process was killed between renaming the image and the commit
    store = RunStore(run_dir)
    assert len(store) == RESULTS
    assert store.get(saved[17].id).prompt == "a fox, study 17"
    assert store.problems() == []


def test_a_stale_temporary_file_is_swept_on_opening(run_dir):
    saved = _filled(run_dir)
    leftover = saved[0].path.parent / ".20261203-leftover.png.1234abcd.tmp"
    leftover.write_bytes(b"half an image")
    an_hour_ago = time.time() - 3700
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    RunStore(run_dir).close()
    assert not leftover.exists()
    assert len(RunStore(run_dir)) == RESULTS


def test_an_unindexed_result_is_found_even_beside_an_image_deleted_by_hand(run_dir):
    saved = _filled(run_dir)
    saved[3].path.unlink()  # a row (and sidecar) without its image
    _drop_row(run_dir, saved[40].id)  # and a whole result without its row
    store = RunStore(run_dir)
    assert store.get(saved[40].id).prompt == "a fox, study 40"
    assert [p.kind for p in store.problems()] == ["image_missing"]


def test_a_consistent_day_folder_is_left_as_it_is(run_dir):
    saved = _filled(run_dir)
    before = sorted(os.listdir(saved[0].path.parent))
    store = RunStore(run_dir)
    assert sorted(os.listdir(saved[0].path.parent)) == before
    assert len(store) == RESULTS and store.problems() == []
