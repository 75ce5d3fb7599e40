"""The client over real HTTP against the stand-in server: requests, results, errors, retries."""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    DownloadError,
    MalformedResponseError,
    Mask,
    ModerationBlockedError,
    RateLimitError,
    RetryPolicy,
    RunStore,
    ServerError,
    ValidationError,
    prepare_generation,
)

from ..conftest import encode, gradient

FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)
API = "/v1/images"


@pytest.fixture
def client(anyfast_simulator, run_dir):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY) as c:
        yield c


def api_calls(sim) -> int:
    return sim.request_count(f"{API}/generations") + sim.request_count(f"{API}/edits")


# -- results -------------------------------------------------------------------


def test_generate_returns_the_image_asked_for_and_keeps_it_on_disk(client):
    result = client.generate("a red bicycle", size="1536x1024", quality="low")
    assert result.size == (1536, 1024) and result.image.size == (1536, 1024)
    assert result.format == "png" and result.path.read_bytes()[:4] == b"\x89PNG"
    assert result.array.shape[:2] == (1024, 1536)
    assert result.revised_prompt and result.request_id
    assert "created" in result.extras
    meta = json.loads(result.sidecar_path.read_text())
    assert meta["prompt"] == "a red bicycle"
    assert meta["params"]["size"] == "1536x1024" and meta["params"]["quality"] == "low"
    assert meta["revised_prompt"] == result.revised_prompt
    assert meta["timings"]["total_s"] > 0


def test_jpeg_output_and_compression(client):
    result = client.generate("a harbour", output_format="jpeg", output_compression=40)
    assert result.format == "jpeg" and result.path.suffix == ".jpg"
    assert result.data[:3] == b"\xff\xd8\xff"


def test_url_results_are_downloaded_without_the_key(client, anyfast_simulator):
    anyfast_simulator.configure(variation=0)  # the same picture both ways
    by_url = client.generate("a quiet lake", response_format="url")
    by_b64 = client.generate("a quiet lake", response_format="b64_json")
    assert np.array_equal(by_url.array, by_b64.array)
    assert "download_s" in by_url.timings
    downloads = anyfast_simulator.download_requests
    assert downloads, "the url was never fetched"
    for request in downloads:
        assert "authorization" not in {k.lower() for k in request.headers}


def test_only_the_spec_fields_are_sent(client, anyfast_simulator):
    client.generate("a fox", size="1024x1536", quality="high", moderation="low")
    sent = anyfast_simulator.api_requests[-1].fields
    fields = {"model", "prompt", "size", "quality", "output_format", "output_compression", "moderation", "response_format"}
    assert set(sent) <= fields
    assert sent["model"] == "gpt-image-2-c" and "n" not in sent


def test_what_is_sent_is_what_the_api_reads_no_nulls_and_sizes_as_w_x_h(client, anyfast_simulator):
    client.generate("a fox", size=(1024, 640), quality=None, output_format=None, moderation=None)
    client.generate("a fox", size=" 1024 X 640 ")
    first, second = (r.fields for r in anyfast_simulator.api_requests[-2:])
    assert first == second == {"model": "gpt-image-2-c", "prompt": "a fox", "size": "1024x640", "response_format": "b64_json"}


def test_a_size_that_cannot_be_read_is_refused_before_sending(client, anyfast_simulator):
    for size in ("1024 by 640", ("1024", "640"), 1024):
        with pytest.raises(ValidationError) as info:
            client.generate("x", size=size)
        assert (info.value.field, info.value.violations[0].rule) == ("size", "format")
    assert api_calls(anyfast_simulator) == 0


def test_edit_with_two_sources_and_a_mask(client, anyfast_simulator):
    source = encode(gradient(1024, 1024), "JPEG", quality=95)  # a JPEG primary must travel as PNG with a mask
    second = encode(Image.new("RGB", (640, 640), "blue"), "PNG")
    region = np.zeros((1024, 1024), dtype=bool)
    region[256:768, 256:768] = True
    result = client.edit("put a moon in the middle", [source, second], mask=region, size="1024x1024")

    request = anyfast_simulator.api_requests[-1]
    names = [f.field for f in request.files]
    assert names == ["image[]", "image[]", "mask"]
    primary, mask_file = request.files[0], request.files[2]
    assert primary.data[:4] == b"\x89PNG"
    mask_image = Image.open(io.BytesIO(mask_file.data))
    assert mask_image.mode == "RGBA" and mask_image.size == (1024, 1024)
    assert Mask.from_rgba(mask_image) == Mask(region)
    assert "quality" not in request.fields and "moderation" not in request.fields

    sent = np.asarray(Image.open(io.BytesIO(primary.data)).convert("RGB")).astype(int)
    out = result.array[..., :3].astype(int)
    assert np.array_equal(out[~region], sent[~region]), "pixels outside the mask changed"
    assert np.abs(out[region] - sent[region]).mean() > 10, "the masked area did not change"
    meta = json.loads(result.sidecar_path.read_text())
    assert len(meta["sources"]) == 2 and meta["mask"]["coverage"] == pytest.approx(0.25)
    assert (client.store.root / meta["sources"][0]["file"]).read_bytes() == primary.data


def test_one_source_goes_as_image(client, anyfast_simulator):
    client.edit("make it snow", gradient(1024, 1024))
    assert [f.field for f in anyfast_simulator.api_requests[-1].files] == ["image"]


async def test_async_client_runs_calls_concurrently(anyfast_simulator, run_dir):
    async with AsyncClient(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        results = await asyncio.gather(*(client.generate(f"tile {i}", quality="low") for i in range(6)))
        edited = await client.edit("add a hat", results[0].path, mask=np.eye(1024, dtype=bool))
    assert len({r.id for r in results}) == 6 and all(r.path.exists() for r in results)
    assert edited.endpoint == "edits" and len(client.store) == 7


# -- nothing is sent that the rules reject ---------------------------------------


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda c: c.generate("x", size="1000x1000"), "size"),
        (lambda c: c.generate("x", size="4096x4096"), "size"),
        (lambda c: c.generate("   "), "prompt"),
        (lambda c: c.generate("x", quality="ultra"), "quality"),
        (lambda c: c.generate("x", output_format="webp"), "output_format"),
        (lambda c: c.generate("x", output_format="jpeg", output_compression=120), "output_compression"),
        (lambda c: c.generate("x", moderation="off"), "moderation"),
        (lambda c: c.generate("x", response_format="file"), "response_format"),
        (lambda c: c.edit("x", []), "image"),
        (lambda c: c.edit("x", [gradient()] * 17), "image[]"),
        (lambda c: c.edit("x", gradient(64, 48), mask=np.ones((10, 10), bool)), "mask"),
        (lambda c: c.edit("x", gradient(64, 48), mask=np.zeros((48, 64), bool)), "mask"),
        (lambda c: c.edit("x", b"not an image"), "image[0]"),
    ],
)
def test_invalid_requests_are_never_sent(client, anyfast_simulator, call, field):
    with pytest.raises(ValidationError) as info:
        call(client)
    assert info.value.field == field
    assert "Fix:" in str(info.value)
    assert api_calls(anyfast_simulator) == 0


# -- errors ------------------------------------------------------------------------


def test_wrong_key_is_an_authentication_error_with_a_hint(anyfast_simulator, run_dir):
    with Client(api_key="sk-wrong", base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        with pytest.raises(AuthenticationError) as info:
            client.generate("x")
    assert info.value.status == 401 and "ANYFAST_API_KEY" in info.value.hint
    assert info.value.request_id and api_calls(anyfast_simulator) == 1


def test_moderation_block_is_reported_and_never_retried(client, anyfast_simulator):
    trigger = anyfast_simulator.moderation_trigger
    with pytest.raises(ModerationBlockedError) as info:
        client.generate(f"a {trigger} scene")
    assert info.value.code == "moderation_blocked" and info.value.categories
    assert "moderation='low'" in info.value.hint
    assert api_calls(anyfast_simulator) == 1
    assert client.generate(f"a {trigger} scene", moderation="low").path.exists()


def test_a_refused_mask_says_which_account_setting_is_needed(anyfast_simulator, run_dir):
    anyfast_simulator.refuse_masks = True
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        with pytest.raises(BadRequestError) as info:
            client.edit("x", gradient(1024, 1024), mask=np.eye(1024, dtype=bool))
    assert "Direct" in info.value.hint and api_calls(anyfast_simulator) == 1


def test_429_is_retried_after_retry_after(client, anyfast_simulator):
    anyfast_simulator.fail_next("429", retry_after=0.2)
    result = client.generate("patience")
    assert result.attempts == 2 and api_calls(anyfast_simulator) == 2
    assert result.timings["request_s"] >= 0.2


def test_a_long_retry_after_is_not_waited_out(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next("429", retry_after=3600)
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        with pytest.raises(RateLimitError) as info:
            client.generate("x")
    assert info.value.retry_after == pytest.approx(3600) and api_calls(anyfast_simulator) == 1


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop", "html"])
def test_transient_failures_are_retried(client, anyfast_simulator, kind):
    anyfast_simulator.fail_next(kind)
    assert client.generate("again").attempts == 2


@pytest.mark.parametrize("kind, error", [("500", ServerError), ("drop", APIConnectionError), ("html", ServerError)])
def test_retries_give_up_with_the_right_error(client, anyfast_simulator, kind, error):
    anyfast_simulator.fail_next(kind, count=3)
    with pytest.raises(error) as info:
        client.generate("never")
    assert api_calls(anyfast_simulator) == 3
    if kind == "html":
        assert "HTML" in str(info.value)


@pytest.mark.parametrize("kind", ["malformed_json", "invalid_b64"])
def test_a_malformed_200_is_not_retried(client, anyfast_simulator, kind):
    anyfast_simulator.fail_next(kind)
    with pytest.raises(MalformedResponseError):
        client.generate("garbled")
    assert api_calls(anyfast_simulator) == 1
    assert len(client.store) == 0


def test_an_image_in_the_other_format_is_kept_as_it_came(client, anyfast_simulator, caplog):
    anyfast_simulator.fail_next("wrong_format")
    result = client.generate("asked for png")  # paid for: kept, not refused
    assert (result.format, result.path.suffix, result.image.format) == ("jpeg", ".jpg", "JPEG")
    assert result.annotations["format_mismatch"] == {"asked": "png", "received": "jpeg"}
    assert client.store.get(result.id).annotations == result.annotations
    assert api_calls(anyfast_simulator) == 1 and "kept as it came" in caplog.text


def test_a_stalled_server_times_out(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next("stall", count=2, seconds=2)
    options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    with Client(**options, timeout=0.3, retry=RetryPolicy(max_retries=1, initial_backoff=0.01)) as client:
        with pytest.raises(APITimeoutError) as info:
            client.generate("slow")
    assert "timeout" in info.value.hint


def test_an_expired_download_link(anyfast_simulator, run_dir):
    anyfast_simulator.url_ttl = 0.0
    sim = anyfast_simulator
    with Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=FAST_RETRY) as client:
        with pytest.raises(DownloadError) as info:
            client.generate("gone", response_format="url")
    assert info.value.status == 403 and "b64_json" in info.value.hint
    assert len(anyfast_simulator.download_requests) == 1, "a 403 must not be retried"


def test_an_oversized_response_is_cut_off(anyfast_simulator, run_dir):
    options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    with Client(**options, max_response_bytes=10_000) as client:
        with pytest.raises(MalformedResponseError, match="exceeds"):
            client.generate("big")
    with Client(**options, max_download_bytes=10_000, retry=FAST_RETRY) as client:
        with pytest.raises(DownloadError, match="exceeds"):
            client.generate("big", response_format="url")


def test_slow_bodies_arrive_whole(client, anyfast_simulator):
    anyfast_simulator.fail_next("slow_body", chunks=6, delay=0.05)
    result = client.generate("patiently")
    assert result.attempts == 1 and result.image.size == (1024, 1024)


def test_a_connection_dropped_mid_body_is_retried(client, anyfast_simulator):
    anyfast_simulator.fail_next("drop_mid_body")
    assert client.generate("again").attempts == 2


def test_truncated_base64_is_caught_before_anything_is_saved(client, anyfast_simulator):
    anyfast_simulator.fail_next("truncated_b64")
    with pytest.raises(MalformedResponseError, match="truncated"):
        client.generate("half")
    assert len(client.store) == 0


def test_transient_download_failures_are_retried(client, anyfast_simulator):
    anyfast_simulator.fail_next("download_500")
    result = client.generate("flaky storage", response_format="url")
    assert result.path.exists() and len(anyfast_simulator.download_requests) == 2


def test_a_download_that_never_answers_times_out(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next("download_hang", count=2, seconds=2)
    options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    with Client(**options, timeout=0.3, retry=RetryPolicy(max_retries=1, initial_backoff=0.01)) as client:
        with pytest.raises(DownloadError, match="in time"):
            client.generate("stuck", response_format="url")


def test_a_source_over_50_mb_is_refused_before_sending(client, anyfast_simulator):
    noise = np.random.default_rng(0).integers(0, 256, (4100, 4100, 3), dtype=np.uint8)
    big = encode(Image.fromarray(noise), "PNG", compress_level=0)
    assert len(big) > 50_000_000
    with pytest.raises(ValidationError) as info:
        client.edit("x", big)
    assert (info.value.field, info.value.rule) == ("image[0]", "file_size")
    assert api_calls(anyfast_simulator) == 0


async def test_async_client_retries_and_raises_like_the_sync_one(anyfast_simulator, run_dir):
    options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY)
    async with AsyncClient(**options) as client:
        anyfast_simulator.fail_next("429", retry_after=0.05)
        anyfast_simulator.fail_next("drop")
        assert (await client.generate("twice failed")).attempts == 3
        with pytest.raises(ModerationBlockedError):
            await client.generate(f"{anyfast_simulator.moderation_trigger}")
        with pytest.raises(ValidationError):
            await client.edit("x", gradient(), mask=np.ones((3, 3), bool))
        by_url = await client.generate("linked", response_format="url")
        assert by_url.path.exists()


def test_retry_policy_decisions():
    policy = RetryPolicy(max_retries=3, initial_backoff=1.0, max_backoff=4.0, max_retry_after=60)
    assert policy.delay(ServerError("x", status=503), 0) <= 1.0
    assert 1.0 <= policy.delay(ServerError("x", status=503), 1) <= 2.0
    assert policy.delay(ServerError("x", status=503), 5) is None
    assert policy.delay(ServerError("x", status=503), 3) is None
    assert 2.0 <= policy.delay(APIConnectionError("x"), 2) <= 4.0
    assert policy.delay(RateLimitError("x", retry_after=7.0), 0) == 7.0
    assert policy.delay(RateLimitError("x", retry_after=600.0), 0) is None
    for never in (BadRequestError("x"), AuthenticationError("x"), ModerationBlockedError("x"), MalformedResponseError("x")):
        assert policy.delay(never, 0) is None


def test_default_timeouts_suit_slow_image_models(tmp_path):
    with Client(api_key="sk-test", base_url="http://127.0.0.1:9", run_dir=tmp_path) as client:
        assert client.timeout.read >= 300 and client.timeout.connect <= 10
    with Client(api_key="sk-test", base_url="http://127.0.0.1:9", run_dir=tmp_path, timeout=60) as client:
        assert client.timeout.read == 60 and client.timeout.connect == 10


def test_results_display_in_a_notebook(client):
    result = client.generate("a tiny preview", size="2048x2048", quality="low")
    bundle = result._repr_mimebundle_()
    preview = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert max(preview.size) <= 768
    assert "a tiny preview" in bundle["text/html"] and "<img" in bundle["text/html"]
    assert result.id in bundle["text/plain"]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_on_answered_is_told_once_the_image_is_in_before_it_is_saved(flavour, anyfast_simulator, run_dir):
    """What lets a grid send its next request while one is saved: told once per image, not for an answer without one."""
    options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    told: list[int] = []
    anyfast_simulator.fail_next("malformed_json")  # an answer with no image: not retried (it may have been charged)

    async def both(client) -> object:
        def send(prompt: str) -> Any:
            return client.send(prepare_generation(prompt), on_answered=lambda: told.append(len(client.store)))

        with pytest.raises(MalformedResponseError):
            await maybe_await(send("answered badly"))
        return await maybe_await(send("a fox"))

    async def main() -> object:
        if flavour == "sync":
            with Client(**options) as client:
                return await both(client)
        async with AsyncClient(**options) as client:
            return await both(client)

    result = asyncio.run(main())
    assert told == [0]  # once, for the image, and the store did not have it yet
    assert result.path.is_file() and len(RunStore(run_dir)) == 1


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
