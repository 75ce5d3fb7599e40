"""The stand-in server speaks the API's wire format: checked with plain httpx and the official openai SDK."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from anyfast_widget import Mask
from anyfast_widget.simulator import Simulator

from .conftest import encode, gradient

GEN = "/v1/images/generations"
EDIT = "/v1/images/edits"


def post(sim, path, *, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {sim.api_key if key is None else key}"}
    return httpx.post(sim.base_url + path, headers=headers, timeout=30, **kwargs)


def image_of(response) -> Image.Image:
    item = response.json()["data"][0]
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))


def edit_files(*sources, mask=None, field="image[]"):
    files = [(field, (f"s{i}.png", data, "image/png")) for i, data in enumerate(sources)]
    if mask is not None:
        files.append(("mask", ("mask.png", mask, "image/png")))
    return files


def test_keys_are_checked(anyfast_simulator):
    for key in ("sk-wrong", "sk-sim-" + "0" * 16):
        response = post(anyfast_simulator, GEN, key=key, json={"model": "gpt-image-2-c", "prompt": "x"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.headers["x-request-id"].startswith("req_")
    unsigned = httpx.post(anyfast_simulator.base_url + GEN, json={"model": "gpt-image-2-c", "prompt": "x"})
    assert unsigned.status_code == 401


@pytest.mark.parametrize(
    "body, param, code, words",
    [
        ({"size": "1000x1000"}, "size", "multiple_of_16", "1008x1008"),
        ({"size": "3840x3840"}, "size", "pixel_range", "8,294,400"),
        ({"quality": "ultra"}, "quality", "enum", "'low'"),
        ({"n": 2}, "n", "unknown_field", "does not accept"),
        ({"prompt": ""}, "prompt", "required", "empty"),
        ({"output_compression": 101}, "output_compression", "range", "0 to 100"),
    ],
)
def test_generation_rules_answer_400(anyfast_simulator, body, param, code, words):
    response = post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x", **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert words in error["message"]


def test_edit_rules_answer_400(anyfast_simulator):
    png = encode(gradient(1024, 1024), "PNG")
    small_mask = Mask(np.eye(512, dtype=bool)).to_png()
    cases = [
        ({"quality": "high"}, edit_files(png), "quality"),
        ({}, edit_files(*[png] * 17), "image[]"),
        ({}, edit_files(png, mask=small_mask), "mask"),
        ({}, edit_files(png, mask=encode(Image.new("L", (1024, 1024)), "PNG")), "mask"),
        ({}, edit_files(encode(gradient(1024, 1024), "JPEG"), mask=Mask(np.eye(1024, dtype=bool)).to_png()), "image[0]"),
        ({}, edit_files(png, field="image") + edit_files(png), "image"),
        ({}, edit_files(b"GIF89a not really"), "image[0]"),
    ]
    for fields, files, param in cases:
        response = post(anyfast_simulator, EDIT, data={"model": "gpt-image-2-c", "prompt": "x", **fields}, files=files)
        assert response.status_code == 400, (fields, param)
        assert response.json()["error"]["param"] == param


def test_generation_is_deterministic_and_sized(anyfast_simulator):
    body = {"model": "gpt-image-2-c", "prompt": "a yellow kite", "size": "1536x1024", "response_format": "b64_json"}
    first, second = post(anyfast_simulator, GEN, json=body), post(anyfast_simulator, GEN, json=body)
    other = post(anyfast_simulator, GEN, json={**body, "prompt": "a green kite"})
    assert first.status_code == 200
    assert image_of(first).size == (1536, 1024) and image_of(first).format == "PNG"
    assert np.array_equal(np.asarray(image_of(first)), np.asarray(image_of(second)))
    assert not np.array_equal(np.asarray(image_of(first)), np.asarray(image_of(other)))
    payload = first.json()
    assert payload["data"][0]["revised_prompt"].startswith("a yellow kite")
    assert isinstance(payload["created"], int) and payload["usage"]["total_tokens"] > 0
    jpeg = post(anyfast_simulator, GEN, json={**body, "output_format": "jpeg", "output_compression": 50})
    assert image_of(jpeg).format == "JPEG"


def test_masked_edit_keeps_the_opaque_area_and_changes_the_rest(anyfast_simulator):
    source = np.asarray(gradient(1024, 1024))
    region = np.zeros((1024, 1024), dtype=bool)
    region[300:700, 300:700] = True
    mask = Mask(region).to_png()
    data = {"model": "gpt-image-2-c", "prompt": "a red door", "response_format": "b64_json"}
    red = encode(Image.new("RGB", (512, 512), "red"), "PNG")
    blue = encode(Image.new("RGB", (512, 512), "blue"), "PNG")

    def edit(*extra):
        response = post(anyfast_simulator, EDIT, data=data, files=edit_files(encode(Image.fromarray(source), "PNG"), *extra, mask=mask))
        assert response.status_code == 200, response.text
        return np.asarray(image_of(response).convert("RGB")).astype(int)

    alone, with_red, with_blue = edit(), edit(red), edit(blue)
    for out in (alone, with_red, with_blue):
        assert np.array_equal(out[~region], source[~region])
        assert np.abs(out[region] - source[region]).mean() > 10
    assert np.abs(with_red[region] - with_blue[region]).mean() > 10, "the second source did not matter"


def test_leak_changes_outside_pixels_a_little(anyfast_simulator):
    region = np.zeros((1024, 1024), dtype=bool)
    region[400:600, 400:600] = True
    source = encode(gradient(1024, 1024), "PNG")
    data = {"model": "gpt-image-2-c", "prompt": "a cat", "response_format": "b64_json"}
    anyfast_simulator.leak = 0.2
    out = np.asarray(image_of(post(anyfast_simulator, EDIT, data=data, files=edit_files(source, mask=Mask(region).to_png()))))
    change = np.abs(out.astype(int) - np.asarray(gradient(1024, 1024)).astype(int)).mean(axis=-1)
    assert 0 < change[~region].mean() < change[region].mean() / 2


def test_download_links_work_then_expire_and_never_see_the_key(anyfast_simulator):
    anyfast_simulator.url_ttl = 0.5
    response = post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x", "response_format": "url"})
    url = response.json()["data"][0]["url"]
    assert url.startswith(anyfast_simulator.download_url) and "b64_json" not in response.json()["data"][0]
    assert httpx.get(url).status_code == 200
    assert httpx.get(url.replace("X-Signature=", "X-Signature=0")).status_code == 403
    time.sleep(0.6)
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"expired" in expired.content
    assert all("authorization" not in r.headers for r in anyfast_simulator.download_requests)


def test_moderation_and_mask_refusals(anyfast_simulator):
    body = {"model": "gpt-image-2-c", "prompt": "BLOCKME please"}
    blocked = post(anyfast_simulator, GEN, json=body)
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "moderation_blocked"
    assert post(anyfast_simulator, GEN, json={**body, "moderation": "low"}).status_code == 200
    anyfast_simulator.refuse_masks = True
    png = encode(gradient(1024, 1024), "PNG")
    refused = post(anyfast_simulator, EDIT, data={"model": "gpt-image-2-c", "prompt": "x"},
                   files=edit_files(png, mask=Mask(np.eye(1024, dtype=bool)).to_png()))
    assert refused.status_code == 400 and "Direct" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "kind, options, check",
    [
        ("429", {"retry_after": 2}, lambda r: r.status_code == 429 and r.headers["retry-after"] == "2"),
        ("429", {}, lambda r: r.status_code == 429 and "retry-after" not in r.headers),
        ("503", {}, lambda r: r.status_code == 503 and r.json()["error"]["type"] == "server_error"),
        ("html", {}, lambda r: r.status_code == 502 and r.headers["content-type"].startswith("text/html")),
        ("malformed_json", {}, lambda r: r.status_code == 200 and r.content.startswith(b'{"created"')),
        ("slow_body", {"chunks": 4, "delay": 0.05}, lambda r: r.status_code == 200 and image_of(r).size == (1024, 1024)),
        ("wrong_format", {}, lambda r: image_of(r).format == "JPEG"),
        ("invalid_b64", {}, lambda r: r.json()["data"][0]["b64_json"].startswith("!!")),
    ],
)
def test_scripted_faults(anyfast_simulator, kind, options, check):
    anyfast_simulator.fail_next(kind, **options)
    response = post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x", "response_format": "b64_json"})
    assert check(response)
    assert post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x"}).status_code == 200, "one fault only"


@pytest.mark.parametrize("kind", ["drop", "drop_mid_body"])
def test_dropped_connections(anyfast_simulator, kind):
    anyfast_simulator.fail_next(kind)
    with pytest.raises(httpx.RemoteProtocolError):
        post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x"})


def test_a_stall_trips_a_client_timeout(anyfast_simulator):
    anyfast_simulator.fail_next("stall", seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(anyfast_simulator.base_url + GEN, json={"model": "gpt-image-2-c", "prompt": "x"},
                   headers={"Authorization": f"Bearer {anyfast_simulator.api_key}"}, timeout=0.3)


def test_latency_counts_from_arrival(anyfast_simulator):
    anyfast_simulator.latency = 0.3
    start = time.perf_counter()
    assert post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "slowly"}).status_code == 200
    assert time.perf_counter() - start >= 0.3


def test_failure_rate_is_seeded_and_transient():
    with Simulator(failure_rate=0.5, seed=3) as sim:
        codes = [post(sim, GEN, json={"model": "gpt-image-2-c", "prompt": "x"}).status_code for _ in range(20)]
    assert set(codes) <= {200, 429, 503} and 200 in codes and len(set(codes)) > 1


def test_admin_endpoints_drive_a_server_in_another_process(anyfast_simulator):
    base = anyfast_simulator.base_url
    assert httpx.post(base + "/_simulator/faults", json={"kind": "503", "count": 2}).status_code == 200
    assert httpx.post(base + "/_simulator/config", json={"latency": 0.0, "leak": 0.1}).status_code == 200
    assert anyfast_simulator.leak == 0.1
    codes = [post(anyfast_simulator, GEN, json={"model": "gpt-image-2-c", "prompt": "x"}).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    counts = httpx.get(base + "/_simulator/requests").json()
    assert counts["count"] == 3 and counts["by_path"][GEN] == 3
    assert httpx.post(base + "/_simulator/faults", json={"kind": "nonsense"}).status_code == 400
    httpx.post(base + "/_simulator/reset")
    assert anyfast_simulator.request_count() == 0


def test_the_command_line_serves_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "anyfast_widget.simulator", "--port", "0", "--api-key", "sk-cli"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        url = next(word for word in line.split() if word.startswith("http://127.0.0.1:"))
        assert "sk-cli" not in line
        response = httpx.post(url + GEN, json={"model": "gpt-image-2-c", "prompt": "cli"},
                              headers={"Authorization": "Bearer sk-cli"}, timeout=30)
        assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_the_official_openai_sdk_generates_and_edits(anyfast_simulator, tmp_path):
    sdk = openai.OpenAI(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url + "/v1", max_retries=0)
    generated = sdk.images.generate(model="gpt-image-2-c", prompt="an owl", size="1024x1536", response_format="b64_json")
    owl = Image.open(io.BytesIO(base64.b64decode(generated.data[0].b64_json)))
    assert owl.size == (1024, 1536) and generated.data[0].revised_prompt

    first, second = tmp_path / "first.png", tmp_path / "second.png"
    owl.save(first)
    gradient(1024, 1536).save(second)
    region = np.zeros((1536, 1024), dtype=bool)
    region[:500] = True
    mask = tmp_path / "mask.png"
    mask.write_bytes(Mask(region).to_png())
    with open(first, "rb") as a, open(second, "rb") as b, open(mask, "rb") as m:
        edited = sdk.images.edit(model="gpt-image-2-c", image=[a, b], mask=m, prompt="add a moon",
                                 size="1024x1536", response_format="b64_json")
    result = Image.open(io.BytesIO(base64.b64decode(edited.data[0].b64_json)))
    assert result.size == (1024, 1536)
    request = anyfast_simulator.api_requests[-1]
    assert [f.field for f in request.files] == ["image[]", "image[]", "mask"]
    out, before = np.asarray(result.convert("RGB")), np.asarray(owl.convert("RGB"))
    assert np.array_equal(out[~region], before[~region])
    assert not np.array_equal(out[region], before[region])
