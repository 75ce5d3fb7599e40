"""The stand-in's fast path for load, and answers that wait out their latency without a worker, over real HTTP.

Fast is off by default, so what tests see stays as it was: a picture painted per
request. With it on, a generation is a valid file of the size and format asked for,
distinct from every other, holding its prompt and request id as text.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import io
import json
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from anyfast_widget import Client, Mask
from anyfast_widget.simulator import Simulator
from anyfast_widget.simulator._fast import _painted

GEN = "/v1/images/generations"


def _address(sim: Simulator) -> tuple[str, int]:
    host, port = sim.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _headers(sim: Simulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.api_key}", "Content-Type": "application/json"}


def _generate(sim: Simulator, **fields: object) -> tuple[bytes, str]:
    """The image file of one generation (sent as b64_json), and the answer's x-request-id."""
    body = {"model": "gpt-image-2-c", "prompt": "a lighthouse at dusk", "response_format": "b64_json", **fields}
    response = httpx.post(sim.base_url + GEN, json=body, headers={"Authorization": f"Bearer {sim.api_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return base64.b64decode(response.json()["data"][0]["b64_json"]), response.headers["x-request-id"]


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: a file cut short or damaged raises here
    return image


def test_fast_is_off_by_default_and_each_picture_is_painted_for_its_prompt(anyfast_simulator):
    assert anyfast_simulator.fast is False and anyfast_simulator.settings()["fast"] is False
    fox, _ = _generate(anyfast_simulator, prompt="a fox", size="1024x1024")
    owl, _ = _generate(anyfast_simulator, prompt="an owl", size="1024x1024")
    fox_image, owl_image = _opened(fox), _opened(owl)
    assert "Comment" not in fox_image.info
    assert not np.array_equal(np.asarray(fox_image), np.asarray(owl_image))


@pytest.mark.parametrize(("size", "output_format", "pil_format"), [("1024x1024", "png", "PNG"), ("1536x1024", "jpeg", "JPEG")])
def test_a_fast_generation_is_a_valid_file_of_the_size_and_format_asked_for(size, output_format, pil_format):
    with Simulator(fast=True) as sim:
        data, request_id = _generate(sim, prompt="a fox in snow", size=size, output_format=output_format)
    image = _opened(data)
    assert image.format == pil_format
    assert f"{image.width}x{image.height}" == size
    assert data.startswith(b"\x89PNG\r\n\x1a\n" if output_format == "png" else b"\xff\xd8\xff")
    text = image.info["Comment"] if output_format == "png" else image.info["comment"].decode()
    assert text == f"a fox in snow\n{request_id}"


def test_fast_generations_are_distinct_files_even_of_the_same_request():
    with Simulator(fast=True) as sim:
        files = [_generate(sim, prompt="the same request", size="1024x1024")[0] for _ in range(3)]
    assert len(set(files)) == 3
    assert all(_opened(data).size == (1024, 1024) for data in files)


def test_fast_generations_are_small_files():
    """A well-compressed picture, so that serving hundreds a second is not a matter of copying megabytes."""
    with Simulator(fast=True) as sim:
        data, _ = _generate(sim, size="1024x1024")
    with Simulator() as sim:
        painted, _ = _generate(sim, size="1024x1024")
    assert len(data) < 200_000 < len(painted)


def test_a_burst_of_first_requests_paints_the_picture_once():
    """64 cells asking at once for a size not served yet: one paint, not one per worker (seconds of CPU)."""
    before = _painted.cache_info().misses
    with Simulator(fast=True, workers=16) as sim, concurrent.futures.ThreadPoolExecutor(16) as pool:
        # a compression no other test asks for: its picture is not in the cache yet
        ask = {"size": "1024x1536", "output_format": "jpeg", "output_compression": 37}
        files = list(pool.map(lambda _: _generate(sim, **ask)[0], range(16)))
    assert _painted.cache_info().misses - before == 1
    assert len(set(files)) == 16 and all(_opened(data).size == (1024, 1536) for data in files)


def test_a_fast_edit_still_keeps_what_its_mask_protects(tmp_path):
    source = Image.fromarray(np.random.default_rng(3).integers(0, 256, (768, 1024, 3), dtype=np.uint8), "RGB")
    keep = np.zeros((768, 1024), bool)
    keep[:, 512:] = True  # the left half may change
    with Simulator(fast=True) as sim, Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path) as client:
        result = client.edit("a red door", source, mask=Mask(~keep), size="1024x768")
    out = np.asarray(result.image.convert("RGB"))
    assert np.array_equal(out[:, 512:], np.asarray(source)[:, 512:])
    assert not np.array_equal(out[:, :512], np.asarray(source)[:, :512])


def test_fast_is_a_knob_checked_like_the_others():
    with Simulator() as sim:
        with pytest.raises(TypeError, match="fast must be true or false"):
            sim.configure(fast="yes")
        answer = httpx.post(sim.base_url + "/_simulator/config", json={"fast": True}, timeout=10)
        assert answer.status_code == 200
        assert sim.fast is True
        assert httpx.get(sim.base_url + "/_simulator/config", timeout=10).json()["fast"] is True
        data, request_id = _generate(sim, size="1024x1024")
    assert _opened(data).info["Comment"].endswith(request_id)


def test_the_command_line_turns_fast_on():
    command = [sys.executable, "-m", "anyfast_widget.simulator", "--port", "0", "--fast"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert httpx.get(url + "/_simulator/config", timeout=10).json()["fast"] is True
    finally:
        process.terminate()
        process.wait(10)


def test_requests_waiting_out_their_latency_hold_no_worker_and_start_no_thread():
    """32 requests at once, 1 s of latency, 2 workers: waited out together (held workers would take 16 s)."""
    with Simulator(latency=1.0, workers=2, fast=True) as sim:
        threads = threading.active_count()
        body = json.dumps({"model": "gpt-image-2-c", "prompt": "p", "size": "1024x1024", "response_format": "b64_json"})
        gate = threading.Barrier(32)

        def one(_: int) -> tuple[int, int]:
            connection = http.client.HTTPConnection(*_address(sim), timeout=30)
            try:
                gate.wait()
                connection.request("POST", GEN, body, _headers(sim))
                response = connection.getresponse()
                return response.status, len(response.read())
            finally:
                connection.close()

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(one, range(32)))
            during = threading.active_count() - 32
        took = time.perf_counter() - started
    assert [status for status, _ in answers] == [200] * 32 and all(size > 1000 for _, size in answers)
    assert during <= threads, "no thread was started for the waiting requests"
    assert 1.0 <= took < 8.0


def test_a_kept_alive_connection_is_answered_again_after_a_wait():
    with Simulator(latency=0.2) as sim:
        connection = http.client.HTTPConnection(*_address(sim), timeout=30)
        body = json.dumps({"model": "gpt-image-2-c", "prompt": "p", "size": "1024x1024", "response_format": "url"})
        try:
            for _ in range(3):
                connection.request("POST", GEN, body, _headers(sim))
                response = connection.getresponse()
                assert response.status == 200 and "url" in json.loads(response.read())["data"][0]
        finally:
            connection.close()
        assert len({r.request_id for r in sim.api_requests}) == 3


def test_stopping_ends_an_answer_still_waiting_at_once():
    sim = Simulator(latency=60.0).start()
    failed: list[BaseException] = []

    def ask() -> None:
        try:
            _generate(sim, size="1024x1024")
        except BaseException as error:  # noqa: BLE001 - what the client saw is the point
            failed.append(error)

    asking = threading.Thread(target=ask)
    asking.start()
    while not sim.api_requests:
        time.sleep(0.01)
    time.sleep(0.2)
    started = time.perf_counter()
    sim.stop()
    asking.join(10)
    assert not asking.is_alive() and failed and isinstance(failed[0], httpx.TransportError)
    assert time.perf_counter() - started < 5


def test_a_fast_generation_sent_as_a_link_downloads_as_the_same_kind_of_file(tmp_path):
    with Simulator(fast=True) as sim, Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path) as client:
        first = client.generate("a fox at dawn", size="1536x1024", output_format="jpeg", response_format="url")
        second = client.generate("a fox at dawn", size="1536x1024", output_format="jpeg", response_format="url")
        assert len(sim.download_requests) == 2
    assert first.data != second.data
    assert _opened(first.data).format == "JPEG" and first.image.size == (1536, 1024)
    assert _opened(first.data).info["comment"].decode() == f"a fox at dawn\n{first.request_id}"
