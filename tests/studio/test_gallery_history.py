"""The studio's history: its entries show at once, their pictures follow off the event loop, and are kept for next time.

Every result is made by the stand-in over real HTTP and saved by a client in a real run
store, as an earlier session would have left it; the studio opens on that store.
"""

from __future__ import annotations

import asyncio
import io
import time

import pytest
import traitlets as t
from PIL import Image

from anyfast_widget import Client, ImageStudio
from anyfast_widget.store import PreviewCache
from anyfast_widget.studio._preview_fill import PreviewFill

pytestmark = pytest.mark.timeout(120)


class Watched(ImageStudio):
    """A studio that keeps every value its ``gallery`` trait takes, from the first one set while it is made."""

    @t.observe("gallery")
    def _keep_value(self, change: dict) -> None:
        self.__dict__.setdefault("values", []).append(change["new"])


def earlier_session(sim, run_dir, count: int) -> list:
    """``count`` results saved by a client (no previews kept), newest last."""
    with Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
        return [client.generate(f"picture {i}", size="1024x1024", quality="low") for i in range(count)]


def open_studio(sim, run_dir, **options) -> Watched:
    return Watched(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, **options)


def kept_previews(run_dir) -> dict[str, int]:
    """The previews kept in the run store: result id -> modification time."""
    folder = run_dir.resolve() / "previews" / "768"
    return {p.stem: p.stat().st_mtime_ns for p in folder.glob("*.jpg")} if folder.is_dir() else {}


def pictures(entries) -> list[tuple[int, int] | None]:
    """Each entry's preview as the browser would decode it: its size, or None while it has none."""
    return [Image.open(io.BytesIO(bytes(e["preview"]))).size if e["preview"] else None for e in entries]


def test_the_history_shows_at_once_and_its_pictures_follow_in_batches(anyfast_simulator, run_dir):
    made = earlier_session(anyfast_simulator, run_dir, 6)
    studio = open_studio(anyfast_simulator, run_dir)
    try:
        first = studio.values[0]
        assert [e["prompt"] for e in first] == [f"picture {i}" for i in range(5, -1, -1)]
        assert [e["size"] for e in first] == [[1024, 1024]] * 6  # what the browser's placeholders are shaped by
        assert pictures(first) == [None] * 6 and all(e["preview_mime"] is None for e in first)
        assert studio._gallery.wait_for_previews(60)
        assert pictures(studio.gallery) == [(768, 768)] * 6
        assert all(e["preview_mime"] == "image/jpeg" for e in studio.gallery)
        assert 2 <= len(studio.values) < 1 + len(made)  # the entries, then fewer syncs than pictures
        assert [e["id"] for e in studio.gallery] == [r.id for r in reversed(made)]
    finally:
        studio.close()


def test_a_second_studio_reads_the_kept_previews_and_makes_none(anyfast_simulator, run_dir):
    earlier_session(anyfast_simulator, run_dir, 3)
    first = open_studio(anyfast_simulator, run_dir)
    assert first._gallery.wait_for_previews(60)
    first.close()
    kept = kept_previews(run_dir)
    assert len(kept) == 3
    second = open_studio(anyfast_simulator, run_dir)
    try:
        assert len(second.values) == 1  # one sync, pictures and all
        assert pictures(second.values[0]) == [(768, 768)] * 3
        assert [bytes(e["preview"]) for e in second.gallery] == [bytes(e["preview"]) for e in first.gallery]
        assert kept_previews(run_dir) == kept  # no file written again
    finally:
        second.close()


def test_a_damaged_kept_preview_is_made_again(anyfast_simulator, run_dir):
    made = earlier_session(anyfast_simulator, run_dir, 3)
    first = open_studio(anyfast_simulator, run_dir)
    assert first._gallery.wait_for_previews(60)
    first.close()
    damaged = run_dir.resolve() / "previews" / "768" / f"{made[1].id}.jpg"
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[:1000])  # cut short, as by a full disk under another tool
    studio = open_studio(anyfast_simulator, run_dir)
    try:
        assert pictures(studio.values[0]) == [(768, 768), None, (768, 768)]  # only that one waits
        assert studio._gallery.wait_for_previews(60)
        assert pictures(studio.gallery) == [(768, 768)] * 3
        assert damaged.read_bytes() == whole and studio.notice == {}
    finally:
        studio.close()


def test_show_more_adds_older_results_whose_pictures_follow(anyfast_simulator, run_dir):
    made = earlier_session(anyfast_simulator, run_dir, 5)
    studio = open_studio(anyfast_simulator, run_dir, history=2)
    try:
        assert [e["prompt"] for e in studio.values[0]] == ["picture 4", "picture 3"] and studio.gallery_more
        studio._handle_custom_msg({"type": "gallery_more"}, [])
        shown = studio.gallery
        assert [e["prompt"] for e in shown] == ["picture 4", "picture 3", "picture 2", "picture 1"] and studio.gallery_more
        studio._handle_custom_msg({"type": "gallery_more"}, [])
        assert [e["prompt"] for e in studio.gallery][-1] == "picture 0" and not studio.gallery_more
        assert studio._gallery.wait_for_previews(60)
        assert pictures(studio.gallery) == [(768, 768)] * 5
        assert set(kept_previews(run_dir)) == {r.id for r in made}
    finally:
        studio.close()


def test_a_closed_studio_stops_making_pictures(anyfast_simulator, run_dir):
    earlier_session(anyfast_simulator, run_dir, 24)
    studio = open_studio(anyfast_simulator, run_dir)
    studio.close()
    assert studio._gallery.wait_for_previews(60)
    made = len(kept_previews(run_dir))
    time.sleep(0.3)
    assert len(kept_previews(run_dir)) == made < 12  # at most those under way when it closed, never all 24


def test_a_new_result_comes_with_its_picture_and_keeps_it(anyfast_simulator, run_dir):
    studio = open_studio(anyfast_simulator, run_dir)
    try:
        studio.prompt = "a red fox in snow"
        (result,) = studio.run()
        assert pictures(studio.values[-1]) == [(768, 768)]  # never shown without it
        assert set(kept_previews(run_dir)) == {result.id}
    finally:
        studio.close()
    again = open_studio(anyfast_simulator, run_dir)
    try:
        assert len(again.values) == 1 and bytes(again.gallery[0]["preview"]) == bytes(studio.gallery[0]["preview"])
    finally:
        again.close()


async def test_in_a_running_loop_the_pictures_come_while_the_loop_runs(anyfast_simulator, run_dir):
    earlier_session(anyfast_simulator, run_dir, 4)
    studio = open_studio(anyfast_simulator, run_dir)
    try:
        ticks = 0
        deadline = time.monotonic() + 60
        while None in pictures(studio.gallery) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # the loop is free while they are made
            ticks += 1
        assert pictures(studio.gallery) == [(768, 768)] * 4 and ticks >= 1
    finally:
        studio.close()


def test_a_picture_that_cannot_be_read_shows_no_preview_and_the_rest_come(anyfast_simulator, run_dir):
    made = earlier_session(anyfast_simulator, run_dir, 3)
    data = bytearray(made[1].path.read_bytes())
    data[100:-100] = bytes(len(data) - 200)  # damaged inside, its ends whole: the store still lists it
    made[1].path.write_bytes(bytes(data))
    studio = open_studio(anyfast_simulator, run_dir)
    try:
        assert studio._gallery.wait_for_previews(60)
        assert pictures(studio.gallery) == [(768, 768), None, (768, 768)]
        assert [bytes(e["preview"]) == b"" for e in studio.gallery] == [False, True, False]  # "no preview", not waiting
        assert studio.gallery[1]["preview_mime"] == "" and studio.notice == {}
    finally:
        studio.close()


def test_the_pictures_ready_together_come_in_one_batch(anyfast_simulator, run_dir):
    made = earlier_session(anyfast_simulator, run_dir, 4)
    cache = PreviewCache(run_dir.resolve())
    batches: list[dict] = []
    fill = PreviewFill(lambda r: cache.get(r, 768), batches.append, every=3600)
    fill.request(made)
    assert fill.wait(60) and fill.idle
    assert [sorted(batch) for batch in batches] == [sorted(r.id for r in made)]
    assert all(mime == "image/jpeg" for _, mime in batches[0].values())
