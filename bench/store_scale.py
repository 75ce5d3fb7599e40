"""A run store with 100,000 results: opening it, finding a result by its request's hash, and loading the studio's history.

The fixture is built once into a cache folder under /tmp (its name holds the fixture's
version and the sidecar's fields, so a change of either builds a new one): 100,000
results over 50 days (2,000 a day, a grid of a thousand cells twice a day), each an image
and its sidecar as the store writes them, indexed by the store's own ``reindex()``
(building them through ``RunStore.save`` would take about 2.5 ms each, four minutes).
The newest 200, those a studio's history shows, are 1024x1024 pictures; the older ones
are 64x64 (their pixels play no part in what is measured).

- opening: ``RunStore(root)``, which opens the index and tidies up after any process killed mid-save;
- finding: ``store.find(request_hash=...)`` for results spread over the whole store;
- the history: what ImageStudio's gallery loads when it opens on the store: its look-up of the newest results;
  ``ImageStudio(run_dir=store)`` until it returns with its gallery holding the page of 24 entries (their pictures
  follow: a placeholder each until then); and the time until all 24 previews are in, the first opening (no
  preview kept yet: made on worker threads, against making them one after another on the caller's thread, as
  the studio did before) and the next (read back from the run store's preview cache, ``previews/768/``).

A second fixture holds the same 100,000 results made in one day (one folder of 200,000 files): opening lists the
newest day folders, so that is the worst case for opening.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from anyfast_widget import ImageStudio, prepare_generation
from anyfast_widget.core import GALLERY_EDGE
from anyfast_widget.store import ImageResult, PreviewCache, RunStore

RESULTS = 100_000
PER_DAY = 2_000
FULL_SIZE = 200  # the newest results, with 1024x1024 pictures
FIXTURE_VERSION = 1
CACHE = Path(tempfile.gettempdir()) / "anyfast-bench-store"
OPEN_LIMIT_MS, FIND_LIMIT_MS, HISTORY_LIMIT_MS = 200.0, 5.0, 100.0
ROUNDS = 7
COLD_ROUNDS = 3  # each makes 24 previews twice (ours, then one after another)
PREVIEWS_WARM_LIMIT_MS = 100.0
COLD_MARGIN = 1.25  # the first opening's previews may take this much longer than making them in a row (threads, batches)
STALL_LIMIT_MS = 50.0  # the longest the caller's thread may wait while they are made (a browser's "long task")
FINDS = 200
PAGE = 24  # the studio's gallery page


def _png(size: int, seed: int) -> bytes:
    y = [(seed * 37 + i) % 256 for i in range(3)]
    picture = Image.new("RGB", (size, size), tuple(y))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _fields_digest() -> str:
    """The sidecar's field names: a store that writes other fields gets a fixture of its own."""
    sample = ImageResult(id="x", path=Path("x.png"), endpoint="generations", prompt="x", params={}, format="png", size=(1, 1))
    return hashlib.sha256(json.dumps(sorted(sample.metadata())).encode()).hexdigest()[:10]


def fixture_root(per_day: int = PER_DAY) -> Path:
    return CACHE / f"v{FIXTURE_VERSION}-{RESULTS}-{per_day}-a-day-{_fields_digest()}"


def _prompt(i: int) -> str:
    return f"fixture {i}: a {('fox', 'owl', 'hare', 'lynx')[i % 4]} in the style of study {i // 4 % 256}"


def _write(root: Path, per_day: int) -> None:
    """Every result's image and sidecar, named and laid out as RunStore.save lays them out."""
    small, full = _png(64, 1), _png(1024, 2)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    made: set[Path] = set()
    for i in range(RESULTS):
        prepared = prepare_generation(_prompt(i), size="1024x1024", quality="low")
        when = start + timedelta(days=i // per_day, seconds=(i % per_day) * 86_400 // per_day)
        folder = root / "images" / f"{when:%Y-%m-%d}"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        result_id = f"{when:%Y%m%dT%H%M%S}-{i:08x}"
        data = full if i >= RESULTS - FULL_SIZE else small
        edge = 1024 if data is full else 64
        result = ImageResult(
            id=result_id, path=folder / f"{result_id}-fixture-{i}.png", endpoint="generations", prompt=prepared.prompt,
            params={k: v for k, v in prepared.params.items() if k != "prompt"}, format="png", size=(edge, edge),
            revised_prompt=f"{prepared.prompt}, rendered", request_id=f"req_{i:024x}", request_hash=prepared.request_hash,
            created_at=when.isoformat(timespec="milliseconds"), timings={"total_s": 1.0}, extras={"created": 0},
        )  # fmt: skip
        result.sidecar_path.write_bytes(json.dumps(result.metadata(), indent=2, ensure_ascii=False).encode())
        result.path.write_bytes(data)


def build_fixture(per_day: int = PER_DAY) -> tuple[Path, float]:
    """The cached fixture (built now if missing) and the seconds building it took (0 when it was cached)."""
    root = fixture_root(per_day)
    if (root / "complete").exists():
        return root, 0.0
    started = time.perf_counter()
    building = root.with_name(f"{root.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    _write(building, per_day)
    store = RunStore(building)  # no index yet: the store rebuilds it from the sidecars
    try:
        assert len(store) == RESULTS, len(store)
    finally:
        store.close()
    (building / "complete").write_text("built\n")
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    return root, time.perf_counter() - started


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def _open_ms(root: Path) -> float:
    stores: list[RunStore] = []
    took = _timed(lambda: stores.append(RunStore(root)))
    stores[0].close()
    return took


def _find_ms(store: RunStore) -> float:
    rng = random.Random(5)
    times = []
    for i in rng.sample(range(RESULTS), FINDS):
        wanted = prepare_generation(_prompt(i), size="1024x1024", quality="low").request_hash
        found: list[ImageResult] = []
        times.append(_timed(lambda h=wanted: found.extend(store.find(request_hash=h))))
        assert len(found) == 1 and found[0].prompt == _prompt(i)
    return statistics.median(times)


def _lookup_ms(store: RunStore) -> float:
    """The gallery's look-up: the newest results, as many as it asks for a page (Gallery._history), loaded whole."""
    found: list[ImageResult] = []
    took = _timed(lambda: found.extend(store.find(limit=2 * PAGE + 2)))
    assert found[0].prompt == _prompt(RESULTS - 1) and len(found) == 2 * PAGE + 2
    return took


def _forget_previews(store: RunStore) -> None:
    shutil.rmtree(store.root / "previews", ignore_errors=True)


def _studio(store: RunStore) -> ImageStudio:
    # A key and an address that are never used: opening a studio sends nothing.
    return ImageStudio(api_key="sk-bench", base_url="http://127.0.0.1:9", run_dir=store, history=PAGE)


def _opening_ms(store: RunStore) -> tuple[float, float, float]:
    """ImageStudio(...) until it returns, its gallery holding the page; until every preview is in (ms from the start);
    and the longest the caller's thread, ticking every 2 ms meanwhile (a kernel's loop), waited for a tick."""
    started = time.perf_counter()
    studio = _studio(store)
    opened = time.perf_counter()
    stall = 0.0
    try:
        assert len(studio.gallery) == PAGE and studio.gallery_more
        assert studio.gallery[0]["prompt"] == _prompt(RESULTS - 1)
        deadline = opened + 120
        while not studio._gallery.wait_for_previews(0) and time.perf_counter() < deadline:
            tick = time.perf_counter()
            time.sleep(0.002)
            stall = max(stall, time.perf_counter() - tick - 0.002)
        done = time.perf_counter()
        assert all(entry["preview"] for entry in studio.gallery)
    finally:
        studio.close()
    return (opened - started) * 1000, (done - started) * 1000, stall * 1000


def _one_after_another_ms(store: RunStore) -> float:
    """The 24 previews made one after another on the caller's thread (what the studio's opening did before), none kept."""
    results = store.find(limit=PAGE)
    cache = PreviewCache(store.root / "not-kept")  # a folder without images/: nothing is written
    return _timed(lambda: [cache.make(r, GALLERY_EDGE) for r in results])


def _histories(store: RunStore) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"opened": [], "cold": [], "serial": [], "warm": [], "stall": []}
    for _ in range(COLD_ROUNDS):
        _forget_previews(store)
        opened, cold, stall = _opening_ms(store)
        times["opened"].append(opened)
        times["cold"].append(cold)
        times["stall"].append(stall)
        times["serial"].append(_one_after_another_ms(store))
    for _ in range(ROUNDS):  # the previews the last cold opening kept
        opened, warm, _ = _opening_ms(store)
        times["opened"].append(opened)
        times["warm"].append(warm)
    return times


def _row(name: str, values: list[float], limit: float, peer: str | None = None) -> dict[str, object]:
    value = statistics.median(values)
    return {
        "benchmark": name,
        "ours": f"{value:.2f} ms",
        "peer / limit": peer or f"limit {limit:g} ms",
        "ratio": value / limit,
        "goal": "<= 1.00",
        "pass": value <= limit,
    }


def run() -> list[dict[str, object]]:
    root, built = build_fixture()
    one_day, built_one_day = build_fixture(RESULTS)
    opens = [_open_ms(root) for _ in range(ROUNDS)]
    opens_one_day = [_open_ms(one_day) for _ in range(ROUNDS)]
    store = RunStore(root)
    try:
        finds = [_find_ms(store) for _ in range(3)]
        lookups = [_lookup_ms(store) for _ in range(ROUNDS)]
        histories = _histories(store)
    finally:
        store.close()
    note = f"built in {built + built_one_day:.0f} s" if built or built_one_day else "cached in /tmp"
    where = f"a run store of {RESULTS:,} results (fixture {note})"
    days = f"over {RESULTS // PER_DAY} days"
    return [
        _row(f"opening {where} {days}: RunStore(root), median of {ROUNDS}", opens, OPEN_LIMIT_MS),
        _row(f"opening {where} all made in one day (one folder of {2 * RESULTS:,} files), median of {ROUNDS}", opens_one_day,
             OPEN_LIMIT_MS),
        _row(f"finding a result by its request hash in {where} (median of {FINDS} finds, median of 3 rounds)", finds,
             FIND_LIMIT_MS),
        _row(f"the studio's history from {where}: the gallery's look-up, the newest {2 * PAGE + 2} results loaded, "
             f"median of {ROUNDS}", lookups, HISTORY_LIMIT_MS),
        _row(f"the studio's history from {where}: ImageStudio(run_dir=store) until it returns, its gallery holding "
             f"the page of {PAGE} (pictures to follow), median of {COLD_ROUNDS + ROUNDS}", histories["opened"],
             HISTORY_LIMIT_MS),
        _row(f"the studio's history from {where}: until all {PAGE} previews are in, first opening (1024x1024 PNGs "
             f"decoded and shrunk on worker threads, then kept), median of {COLD_ROUNDS}", histories["cold"],
             COLD_MARGIN * statistics.median(histories["serial"]),
             f"limit {COLD_MARGIN:g} x {statistics.median(histories['serial']):.0f} ms, made one after another (as before)"),
        _row(f"the studio's history from {where}: the longest the caller's thread (ticking every 2 ms) waited while the "
             f"first opening's previews were made, median of {COLD_ROUNDS}", histories["stall"], STALL_LIMIT_MS),
        _row(f"the studio's history from {where}: until all {PAGE} previews are in, next openings (read back from the "
             f"run store's preview cache), median of {ROUNDS}", histories["warm"], PREVIEWS_WARM_LIMIT_MS),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run():
        print(row)
