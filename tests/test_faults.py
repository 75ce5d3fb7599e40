"""Every fault the stand-in server can play, through the client (sync and async), the studio and a grid.

One table (``CASES``) says what each fault must do: retried or not, which error a
user gets when it persists, and a word that error's message holds. The README's
fault table lists the same faults; a test keeps the two in step.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from anyfast_widget import (
    AnyfastError,
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Client,
    DownloadError,
    ImageStudio,
    MalformedResponseError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    compare,
)
from anyfast_widget.simulator import DOWNLOAD_FAULT_KINDS, FAULT_KINDS

RETRY = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)
TIMEOUT = 0.4  # seconds; the stalls below last longer
README = Path(__file__).parent.parent / "README.md"


@dataclass(frozen=True)
class Case:
    fault: str  # a simulator fault kind
    retried: bool  # a transient failure: the next try may work
    error: type[AnyfastError] | None  # what the user gets when it persists; None: nothing goes wrong
    says: str = ""  # a word of that error's message
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def download(self) -> bool:
        return self.fault.startswith("download_")

    @property
    def id(self) -> str:
        return self.fault + ("-retry-after" if "retry_after" in self.options else "")


CASES = [
    Case("429", True, RateLimitError, "429", {"retry_after": 0.3}),
    Case("429", True, RateLimitError, "429"),
    Case("500", True, ServerError, "500"),
    Case("502", True, ServerError, "502"),
    Case("503", True, ServerError, "503"),
    Case("504", True, ServerError, "504"),
    Case("html", True, ServerError, "HTML"),
    Case("drop", True, APIConnectionError, "dropped"),
    Case("drop_mid_body", True, APIConnectionError, "dropped"),
    Case("stall", True, APITimeoutError, "in time", {"seconds": 1.5}),
    Case("slow_body", False, None, options={"chunks": 6, "delay": 0.03}),
    Case("malformed_json", False, MalformedResponseError, "JSON"),
    Case("truncated_b64", False, MalformedResponseError, "truncated"),
    Case("invalid_b64", False, MalformedResponseError, "base64"),
    Case("wrong_format", False, None),  # a whole image in the other format: kept as it came
    Case("download_expired", False, DownloadError, "expired"),
    Case("download_hang", True, DownloadError, "in time", {"seconds": 1.5}),
    Case("download_500", True, DownloadError, "500"),
]
FAILING = [c for c in CASES if c.error is not None]
IDS = [c.id for c in CASES]


def inject(sim, case: Case, *, persist: bool) -> None:
    """Queue the fault once, or on every try the retry policy allows."""
    count = RETRY.max_retries + 1 if persist and case.retried else 1
    sim.fail_next(case.fault, count=count, **case.options)


def calls(sim, case: Case) -> int:
    """Requests that reached the host the fault plays on."""
    if case.download:
        return len(sim.download_requests)
    return sim.request_count("/v1/images/generations")


def request_params(case: Case) -> dict[str, Any]:
    return {"response_format": "url"} if case.download else {}


def stored_files(run_dir: Path) -> list[Path]:
    """Every file under images/, once the store's helper thread has removed the files it reserved for a call that failed
    (a fast failure can come back before the helper has even made them; they go as soon as it has)."""
    images = run_dir / "images"
    deadline = time.monotonic() + 2.0
    while images.exists() and any(p.name.startswith(".reserved-") for p in images.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return sorted(p for p in images.rglob("*") if p.is_file()) if images.exists() else []


def generate(flavour: str, sim, run_dir: Path, prompt: str, **params: Any):
    """One generation through the sync or the async client; the result or the error raised."""
    options = dict(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=RETRY, timeout=TIMEOUT)
    try:
        if flavour == "sync":
            with Client(**options) as client:
                return client.generate(prompt, size="1024x1024", **params)

        async def call():
            async with AsyncClient(**options) as client:
                return await client.generate(prompt, size="1024x1024", **params)

        return asyncio.run(call())
    except AnyfastError as error:
        return error


# -- the client -------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_fault_that_happens_once(case, flavour, anyfast_simulator, run_dir):
    inject(anyfast_simulator, case, persist=False)
    outcome = generate(flavour, anyfast_simulator, run_dir, f"once {case.id}", **request_params(case))
    if case.retried or case.error is None:
        assert not isinstance(outcome, Exception), outcome
        tries = 2 if case.retried else 1
        assert outcome.attempts == (1 if case.download else tries)  # API attempts; a download is retried alone
        assert outcome.path.exists() and outcome.image.size == (1024, 1024)
        assert calls(anyfast_simulator, case) == tries
        assert len(stored_files(run_dir)) == 2  # the image and its sidecar, once
    else:
        assert isinstance(outcome, case.error), outcome
        assert calls(anyfast_simulator, case) == 1, "a failure that may have been charged is not retried"
        assert stored_files(run_dir) == []


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("case", [c for c in FAILING if c.retried], ids=[c.id for c in FAILING if c.retried])
def test_a_fault_that_persists_gives_up_with_a_clear_error(case, flavour, anyfast_simulator, run_dir):
    inject(anyfast_simulator, case, persist=True)
    outcome = generate(flavour, anyfast_simulator, run_dir, f"always {case.id}", **request_params(case))
    assert isinstance(outcome, case.error), outcome
    assert case.says in outcome.message
    assert calls(anyfast_simulator, case) == RETRY.max_retries + 1
    assert stored_files(run_dir) == [] and not list(run_dir.rglob("*.tmp"))
    if case.download:
        api_calls = anyfast_simulator.request_count("/v1/images/generations")
        assert api_calls == 1, "a failed download does not ask (and pay) for the image again"


def test_retry_after_is_waited_out_before_the_next_try(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next("429", count=2, retry_after=0.3)
    result = generate("async", anyfast_simulator, run_dir, "patience")
    assert result.attempts == 3
    times = [r.time for r in anyfast_simulator.api_requests]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert min(gaps) >= 0.3, gaps


def test_an_image_in_the_other_format_is_kept_and_flagged(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next("wrong_format")
    result = generate("sync", anyfast_simulator, run_dir, "asked for png", output_format="png")
    assert result.format == "jpeg" and result.path.suffix == ".jpg"
    assert result.annotations["format_mismatch"] == {"asked": "png", "received": "jpeg"}


# -- the studio --------------------------------------------------------------------------


@pytest.fixture
def studio(anyfast_simulator, run_dir):
    sim = anyfast_simulator
    s = ImageStudio(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=RETRY, timeout=TIMEOUT)
    yield s
    s.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_studio_shows_a_fault_and_stays_usable(case, studio, anyfast_simulator):
    studio.prompt = f"studio {case.id}"
    studio.params = {**studio.params, **request_params(case)}
    inject(anyfast_simulator, case, persist=True)
    results = studio.run()
    [job] = studio.jobs
    if case.error is None:
        assert job["status"] == "done" and len(results) == 1 and len(studio.gallery) == 1
        if case.fault == "wrong_format":
            assert studio.notice["kind"] == "warning" and "got JPEG" in studio.notice["message"]
            assert studio.gallery[0]["format"] == "jpeg"
        return
    assert results == [] and job["status"] == "error"
    card = job["error"]
    assert card["title"] and case.says in card["message"] and "Traceback" not in card["message"]
    assert not studio.running and studio.run_blocked == "" and studio.gallery == []

    assert anyfast_simulator.pending_faults() == []
    again = studio.run()  # the same request, now answered
    assert len(again) == 1 and studio.jobs[0]["status"] == "done"
    assert [entry["id"] for entry in studio.gallery] == [again[0].id]


# -- a grid --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_grid_keeps_going_past_a_failing_cell_and_retries_it(case, anyfast_simulator, run_dir):
    sim = anyfast_simulator
    options = dict(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=RETRY, timeout=TIMEOUT)

    async def scenario():
        async with AsyncClient(**options) as client:
            inject(anyfast_simulator, case, persist=True)  # the first cell's tries (one request at a time)
            grid = compare(
                f"grid {case.id}", cols={"quality": ["low", "medium", "high"]}, client=client, concurrency=1, progress=False,
                **request_params(case),
            )
            await grid
            statuses = [c.status for c in grid.cells]
            if case.error is None:
                assert statuses == ["done"] * 3
                return
            assert statuses == ["error", "done", "done"]
            assert isinstance(grid.cells[0].slots[0].error, case.error)
            sent = anyfast_simulator.request_count("/v1/images/generations")
            await grid.retry(0, 0)
            assert [c.status for c in grid.cells] == ["done"] * 3
            assert anyfast_simulator.request_count("/v1/images/generations") == sent + 1
            assert len(client.store) == 3

    asyncio.run(scenario())


# -- the README ----------------------------------------------------------------------------


def test_the_readme_fault_table_lists_every_fault_the_tests_play():
    text = README.read_text()
    section = text[text.index("### Faults") :]
    section = section[: section.index("\n#", 1)]
    first_cells = re.findall(r"^\| ([^|]+)\|", section, flags=re.M)
    listed = {name for cell in first_cells for name in re.findall(r"`([a-z0-9_]+)`", cell)}
    known = set(FAULT_KINDS) | {f"download_{k}" for k in DOWNLOAD_FAULT_KINDS}
    assert {c.fault for c in CASES} == known, "every fault the stand-in plays has a case here"
    assert listed == known, f"README fault table: missing {sorted(known - listed)}, unknown {sorted(listed - known)}"
