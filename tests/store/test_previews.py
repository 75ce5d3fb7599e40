"""The run store's preview cache: a display-sized copy of a result made once, read back after, remade when damaged."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import Client, RunStore
from anyfast_widget.store import PreviewCache


@pytest.fixture
def saved(anyfast_simulator, run_dir):
    """Two results the stand-in made, saved by a client as any session saves them (no preview kept yet)."""
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        return [client.generate(f"a lighthouse, take {i}", size="1024x1024", quality="low") for i in range(2)]


def kept(run_dir, result) -> os.PathLike:
    return run_dir.resolve() / "previews" / "768" / f"{result.id}.jpg"


def test_a_preview_is_made_once_and_then_read_back(saved, run_dir):
    result = RunStore(run_dir).get(saved[0].id)
    cache = PreviewCache(run_dir.resolve())
    assert cache.cached(result, 768) is None and not kept(run_dir, result).exists()
    data, mime = cache.get(result, 768)
    assert mime == "image/jpeg" and kept(run_dir, result).read_bytes() == data
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG" and picture.size == (768, 768)
    # The picture shrunk, not another one: its mean colour is the original's.
    original = np.asarray(Image.open(result.path).convert("RGB"), float).mean(axis=(0, 1))
    assert np.abs(np.asarray(picture, float).mean(axis=(0, 1)) - original).max() < 3
    made_at = kept(run_dir, result).stat().st_mtime_ns
    time.sleep(0.01)
    assert cache.get(result, 768) == (data, mime)
    assert kept(run_dir, result).stat().st_mtime_ns == made_at  # read back, not made again
    assert not result.loaded  # the picture decoded for it is not held on the result


def test_a_preview_cut_short_is_made_again(saved, run_dir):
    result = saved[0]
    cache = PreviewCache(run_dir.resolve())
    data, _ = cache.get(result, 768)
    kept(run_dir, result).write_bytes(data[: len(data) // 2])  # a copy that stopped partway
    assert cache.cached(result, 768) is None
    assert cache.get(result, 768)[0] == data and kept(run_dir, result).read_bytes() == data


def test_a_preview_of_something_else_is_not_taken_for_one(saved, run_dir):
    result = saved[0]
    path = kept(run_dir, result)
    path.parent.mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), "red").save(buffer, "PNG")  # not a JPEG, and larger than the edge
    path.write_bytes(buffer.getvalue())
    assert PreviewCache(run_dir.resolve()).cached(result, 768) is None


def test_previews_are_no_damage_to_the_store(saved, run_dir):
    store = RunStore(run_dir)
    cache = PreviewCache(store.root)
    for result in saved:
        cache.get(result, 768)
        cache.get(result, 256)
    assert store.problems(deep=True) == [] and store.repair(deep=True) == []
    assert sorted(p.name for p in (store.root / "previews").iterdir()) == ["256", "768"]
    assert [r.id for r in store.find()] == [r.id for r in reversed(saved)]


def test_opening_sweeps_the_temporary_previews_of_a_killed_process(saved, run_dir):
    folder = run_dir.resolve() / "previews"
    folder.mkdir()
    stale, fresh = folder / ".x.jpg.dead.tmp", folder / ".y.jpg.live.tmp"
    stale.write_bytes(b"half a pict")
    fresh.write_bytes(b"being writ")  # another process's, still under way
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    RunStore(run_dir).close()
    assert not stale.exists() and fresh.exists()


def test_a_run_directory_that_refuses_previews_still_gives_them(saved, run_dir):
    in_the_way = run_dir.resolve() / "previews"
    in_the_way.write_text("a file where the folder would go")  # the disk refuses the cache, as a read-only one would
    data, mime = PreviewCache(run_dir.resolve()).get(saved[0], 768)
    assert mime == "image/jpeg" and Image.open(io.BytesIO(data)).size == (768, 768)
    assert in_the_way.read_text() == "a file where the folder would go"
