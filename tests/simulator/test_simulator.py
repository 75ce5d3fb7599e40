"""The stand-in server speaks the API's wire format: checked over real HTTP with httpx and the official openai SDK."""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import http.client
import io
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from anyfast_widget.simulator import FAULT_KINDS, Simulator

from ..conftest import gradient

MODEL = "gpt-image-2-c"
GEN = "/v1/images/generations"
EDIT = "/v1/images/edits"
W, H = 1024, 640  # the smallest area the API allows: keeps every test quick
SIZE = f"{W}x{H}"


# -- helpers ---------------------------------------------------------------------


# One client for the module: a new httpx client per call costs more than most of these requests.
session = httpx.Client(timeout=30)


@pytest.fixture(autouse=True, scope="module")
def _close_the_client():
    yield
    session.close()


def post(sim, path, *, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {sim.api_key if key is None else key}", **kwargs.pop("headers", {})}
    return session.post(sim.base_url + path, headers=headers, **kwargs)


def generate(sim, prompt="a lighthouse", **fields):
    return post(sim, GEN, json={"model": MODEL, "prompt": prompt, "size": SIZE, "response_format": "b64_json", **fields})


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
    return buffer.getvalue()


@functools.cache
def source_png(width: int = W, height: int = H) -> bytes:
    return encode(gradient(width, height))


def source_pixels() -> np.ndarray:
    return np.asarray(gradient(W, H)).astype(int)


def mask_png(editable: np.ndarray) -> bytes:
    """The API's mask: an RGBA PNG, alpha 0 where the model may change the picture."""
    rgba = np.zeros((*editable.shape, 4), np.uint8)
    rgba[..., 3] = np.where(editable, 0, 255)
    return encode(Image.fromarray(rgba, "RGBA"))


def box(top=200, bottom=450, left=300, right=700) -> np.ndarray:
    region = np.zeros((H, W), bool)
    region[top:bottom, left:right] = True
    return region


def files(*sources, mask=None, field="image[]"):
    out = [(field, (f"source{i}.png", data, "image/png")) for i, data in enumerate(sources)]
    if mask is not None:
        out.append(("mask", ("mask.png", mask, "image/png")))
    return out


def edit(sim, *sources, mask=None, prompt="a red door", field="image[]", **fields):
    data = {"model": MODEL, "prompt": prompt, "size": SIZE, "response_format": "b64_json", **fields}
    return post(sim, EDIT, data=data, files=files(*sources, mask=mask, field=field))


def image_of(response) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(base64.b64decode(response.json()["data"][0]["b64_json"])))


def pixels_of(response) -> np.ndarray:
    return np.asarray(image_of(response).convert("RGB")).astype(int)


def error_of(response, status=400) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


# -- keys ------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer sk-wrong", "Basic c2stc2ltOng=", "Bearer"])
def test_a_missing_or_wrong_key_is_401(anyfast_simulator, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = session.post(anyfast_simulator.base_url + GEN, json={"model": MODEL, "prompt": "x"}, headers=headers)
    error = error_of(response, 401)
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
    assert response.headers["x-request-id"].startswith("req_")


def test_the_right_key_is_accepted_and_every_answer_has_a_request_id(anyfast_simulator):
    ok = generate(anyfast_simulator)
    bad = generate(anyfast_simulator, size="1x1")
    ids = {ok.headers["x-request-id"], bad.headers["x-request-id"]}
    assert ok.status_code == 200 and len(ids) == 2 and all(i.startswith("req_") for i in ids)
    assert [r.request_id for r in anyfast_simulator.api_requests] == [ok.headers["x-request-id"], bad.headers["x-request-id"]]


# -- the API's rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, param, code, words",
    [
        ({"size": "1000x1000"}, "size", "multiple_of_16", "nearest valid sizes are 1008x1008"),
        ({"size": "3840x3840"}, "size", "pixel_range", "8,294,400"),
        ({"size": "3072x256"}, "size", "max_ratio", "3 times"),
        ({"size": "big"}, "size", "format", "WIDTHxHEIGHT"),
        ({"size": [1024, 1024]}, "size", "format", "not a string"),
        ({"quality": "ultra"}, "quality", "enum", "'low', 'medium', 'high'"),
        ({"output_format": "webp"}, "output_format", "enum", "'png', 'jpeg'"),
        ({"moderation": "off"}, "moderation", "enum", "'auto', 'low'"),
        ({"response_format": "file"}, "response_format", "enum", "'url', 'b64_json'"),
        ({"n": 2}, "n", "unknown_field", "does not accept 'n'"),
        ({"background": "transparent"}, "background", "unknown_field", "does not accept"),
        ({"prompt": ""}, "prompt", "required", "empty"),
        ({"model": "gpt-image-1"}, "model", "enum", "gpt-image-2-c"),
        ({"model": None}, "model", "required", "missing"),
        ({"output_compression": 101}, "output_compression", "range", "0 to 100"),
        ({"output_compression": "80"}, "output_compression", "range", "whole number"),
    ],
)
def test_a_generation_breaking_a_rule_is_400(anyfast_simulator, change, param, code, words):
    body = {"model": MODEL, "prompt": "x", **change}
    body = {k: v for k, v in body.items() if v is not None}
    error = error_of(post(anyfast_simulator, GEN, json=body))
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert words in error["message"]


def test_every_broken_rule_is_in_the_message(anyfast_simulator):
    error = error_of(post(anyfast_simulator, GEN, json={"model": MODEL, "prompt": "x", "n": 2, "quality": "ultra"}))
    assert "'n'" in error["message"] and "'ultra'" in error["message"]


def test_output_compression_with_png_is_the_apis_business_not_an_error(anyfast_simulator):
    assert generate(anyfast_simulator, output_compression=50).status_code == 200


@pytest.mark.parametrize("size", ["1024X640", " 1024x640", "1024x640 ", "1024 x 640", "1024×640", "01024x640", "1024x0640"])
def test_a_size_on_the_wire_is_exactly_w_x_h(anyfast_simulator, size):
    error = error_of(generate(anyfast_simulator, size=size))
    assert (error["param"], error["code"]) == ("size", "format") and "exactly WIDTHxHEIGHT" in error["message"]
    assert "'1024x640'" in error["message"], "the fix names the exact spelling"


@pytest.mark.parametrize("body", [{"prompt": "x"}, {"model": None, "prompt": "x"}])
def test_a_request_without_a_model_is_400(anyfast_simulator, body):
    error = error_of(post(anyfast_simulator, GEN, json=body))
    assert (error["param"], error["code"]) == ("model", "required") and "missing" in error["message"]
    data = {"prompt": "x", "size": SIZE}  # and the edits endpoint, where fields are form text
    error = error_of(post(anyfast_simulator, EDIT, data=data, files=files(source_png())))
    assert (error["param"], error["code"]) == ("model", "required")


def test_a_null_prompt_is_a_missing_prompt(anyfast_simulator):
    error = error_of(post(anyfast_simulator, GEN, json={"model": MODEL, "prompt": None}))
    assert (error["param"], error["code"]) == ("prompt", "required") and "missing" in error["message"]


@pytest.mark.parametrize(
    "field, code",
    [("size", "format"), ("quality", "enum"), ("output_format", "enum"), ("output_compression", "range"),
     ("moderation", "enum"), ("response_format", "enum")],
)  # fmt: skip
def test_a_null_field_is_a_wrong_type_as_the_spec_has_it(anyfast_simulator, field, code):
    # The spec declares these fields string (output_compression integer), none nullable: a null is a 400, as any wrong
    # type is. (The stand-in used to read a null as an absent field, which the spec's validators refuse.)
    error = error_of(generate(anyfast_simulator, "a null kite", **{field: None}))
    assert (error["param"], error["code"]) == (field, code) and "null is not" in error["message"], error
    assert anyfast_simulator.api_requests[-1].fields[field] is None, "the record keeps what was sent"


def test_a_null_field_the_endpoint_does_not_take_is_still_refused(anyfast_simulator):
    error = error_of(generate(anyfast_simulator, n=None))
    assert (error["param"], error["code"]) == ("n", "unknown_field")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"quality": None, "moderation": "low"},
        {"size": None},
        {"prompt": None},
        {"model": None},
        {"size": "1024 x 640"},
        {"size": [1024, 640]},
        {"size": "1000x1000", "quality": None},
        {"output_format": "jpeg", "output_compression": None},
        {"output_compression": 101, "quality": None},
        {"n": None},
        {"prompt": 7},
    ],
)
def test_the_rules_module_predicts_the_simulators_answer(anyfast_simulator, fields):
    """The client checks with check_params(wire=True) what the simulator checks on arrival: same verdict, same first rule."""
    from anyfast_widget.core._rules import check_params

    body = {"model": MODEL, "prompt": "x", "size": SIZE, **fields}
    predicted = check_params("generations", body, strict=False, wire=True)
    response = post(anyfast_simulator, GEN, json=body)
    if not predicted:
        assert response.status_code == 200, response.text
    else:
        error = error_of(response)
        assert (error["param"], error["code"]) == (predicted[0].field, predicted[0].rule)


@functools.cache
def _gif() -> bytes:
    return encode(gradient(W, H).convert("P"), "GIF")


EDIT_CASES = {
    "quality on edits": ({"quality": "high"}, lambda: files(source_png()), "quality", "unknown_field"),
    "moderation on edits": ({"moderation": "low"}, lambda: files(source_png()), "moderation", "unknown_field"),
    "n on edits": ({"n": "2"}, lambda: files(source_png()), "n", "unknown_field"),
    "17 sources": ({}, lambda: files(*[source_png()] * 17), "image[]", "max_count"),
    "no source": ({}, lambda: [("mask", ("m.png", mask_png(box()), "image/png"))], "image", "required"),
    "mask of another size": ({}, lambda: files(source_png(), mask=mask_png(np.ones((512, 512), bool))), "mask", "same_size"),
    "mask without alpha": ({}, lambda: files(source_png(), mask=encode(Image.new("L", (W, H)))), "mask", "alpha"),
    "JPEG source with a PNG mask": (
        {}, lambda: files(encode(gradient(W, H), "JPEG"), mask=mask_png(box())), "image[0]", "same_format"),
    "GIF source": ({}, lambda: files(_gif()), "image[0]", "format"),
    "image and image[] both": ({}, lambda: files(source_png(), field="image") + files(source_png()), "image", "conflict"),
    "two files as image": ({}, lambda: files(source_png(), source_png(), field="image"), "image", "max_count"),
    "non-integer compression": ({"output_compression": "high"}, lambda: files(source_png()), "output_compression", "range"),
    "unknown file field": ({}, lambda: files(source_png()) + [("markup", ("m.png", source_png(), "image/png"))],
                           "markup", "unknown_field"),
    "image[] source cut short": ({}, lambda: files(source_png()[: len(source_png()) // 2]), "image[0]", "unreadable"),
}


@pytest.mark.parametrize("case", EDIT_CASES)
def test_an_edit_breaking_a_rule_is_400(anyfast_simulator, case):
    fields, make_files, param, code = EDIT_CASES[case]
    response = post(anyfast_simulator, EDIT, data={"model": MODEL, "prompt": "x", **fields}, files=make_files())
    error = error_of(response)
    assert (error["param"], error["code"]) == (param, code), error["message"]


def test_a_mask_sent_as_text_is_400(anyfast_simulator):
    fields = {"model": MODEL, "prompt": "x", "mask": "not a file"}
    response = post(anyfast_simulator, EDIT, data=fields, files=files(source_png()))
    assert error_of(response)["code"] == "file_required"


@pytest.mark.parametrize(
    "path, kwargs",
    [
        (GEN, {"data": {"model": MODEL, "prompt": "x"}, "files": files(b"x")}),  # multipart to the JSON endpoint
        (EDIT, {"json": {"model": MODEL, "prompt": "x"}}),  # JSON to the multipart endpoint
        (GEN, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        (EDIT, {"content": b"--b\r\nno end", "headers": {"Content-Type": "multipart/form-data; boundary=b"}}),
    ],
    ids=["multipart to generations", "json to edits", "broken json", "truncated multipart"],
)
def test_a_body_of_the_wrong_kind_is_400(anyfast_simulator, path, kwargs):
    error = error_of(post(anyfast_simulator, path, **kwargs))
    assert error["type"] == "invalid_request_error"


def test_an_unknown_path_is_a_json_404(anyfast_simulator):
    response = post(anyfast_simulator, "/v1/images/variations", json={})
    assert "Invalid URL" in error_of(response, 404)["message"] and response.headers["x-request-id"]


def test_an_unsupported_method_is_answered_in_json_and_closes(anyfast_simulator):
    response = session.put(anyfast_simulator.base_url + GEN, content=b"{}")
    assert response.status_code == 501 and response.json()["error"]["message"]
    assert response.headers["connection"] == "close"


# -- generations -----------------------------------------------------------------------


def test_generation_is_deterministic_at_the_requested_size():
    with Simulator() as one, Simulator() as two:
        first, again = generate(one, "a yellow kite", size="1536x1024"), generate(two, "a yellow kite", size="1536x1024")
    assert image_of(first).size == (1536, 1024) and image_of(first).format == "PNG"
    assert first.json()["data"][0]["b64_json"] == again.json()["data"][0]["b64_json"]


def test_the_prompt_and_the_quality_change_the_picture(anyfast_simulator):
    kite = pixels_of(generate(anyfast_simulator, "a yellow kite"))
    other = pixels_of(generate(anyfast_simulator, "a green kite"))
    high = pixels_of(generate(anyfast_simulator, "a yellow kite", quality="high"))
    assert np.abs(kite - other).mean() > 10 and np.abs(kite - high).mean() > 10


def test_jpeg_comes_back_as_jpeg_and_compression_sets_its_quality(anyfast_simulator):
    small = generate(anyfast_simulator, output_format="jpeg", output_compression=10)
    large = generate(anyfast_simulator, output_format="jpeg", output_compression=95)
    assert image_of(small).format == image_of(large).format == "JPEG" and image_of(small).size == (W, H)
    assert len(small.json()["data"][0]["b64_json"]) < len(large.json()["data"][0]["b64_json"]) / 2


def test_a_success_has_the_openai_shape_and_defaults(anyfast_simulator):
    response = post(anyfast_simulator, GEN, json={"model": MODEL, "prompt": "  a yellow kite "})
    payload = response.json()
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert isinstance(payload["created"], int) and abs(payload["created"] - time.time()) < 5
    (item,) = payload["data"]
    assert set(item) == {"url", "revised_prompt"}, "the default response_format is url, and only one of url/b64_json"
    assert item["revised_prompt"].startswith("a yellow kite")
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    picture = Image.open(io.BytesIO(session.get(item["url"]).content))
    assert picture.size == (1024, 1024) and picture.format == "PNG", "the default size and format"


# -- edits -------------------------------------------------------------------------------


def test_a_masked_edit_keeps_opaque_pixels_exactly_and_changes_the_transparent_ones(anyfast_simulator):
    region = box()
    out, source = pixels_of(edit(anyfast_simulator, source_png(), mask=mask_png(region))), source_pixels()
    assert np.array_equal(out[~region], source[~region])
    assert np.abs(out[region] - source[region]).mean() > 20


def test_a_second_source_changes_the_edited_area(anyfast_simulator):
    region = box()
    red, blue = encode(Image.new("RGB", (300, 300), "red")), encode(Image.new("RGB", (300, 300), "blue"))
    with_red = pixels_of(edit(anyfast_simulator, source_png(), red, mask=mask_png(region)))
    with_blue = pixels_of(edit(anyfast_simulator, source_png(), blue, mask=mask_png(region)))
    assert np.abs(with_red[region] - with_blue[region]).mean() > 20
    assert np.array_equal(with_red[~region], with_blue[~region])
    assert (with_red[region][:, 0] - with_blue[region][:, 0]).mean() > 20, "red shows through as red"


def test_an_edit_without_a_mask_changes_everything_but_keeps_the_source_recognisable(anyfast_simulator):
    out, source = pixels_of(edit(anyfast_simulator, source_png(), field="image")), source_pixels()
    assert np.abs(out - source).mean() > 10
    assert np.corrcoef(out[..., 0].ravel(), source[..., 0].ravel())[0, 1] > 0.5


def test_an_edit_comes_back_at_the_requested_size(anyfast_simulator):
    region = np.zeros((1024, 1024), bool)
    region[:300] = True
    response = edit(anyfast_simulator, source_png(1024, 1024), mask=mask_png(region), size="1536x1024", output_format="jpeg")
    assert image_of(response).size == (1536, 1024) and image_of(response).format == "JPEG"


def test_leak_changes_pixels_outside_the_mask_a_little_and_more_with_more_leak(anyfast_simulator):
    region, source = box(), source_pixels()

    def outside_change(leak):
        anyfast_simulator.leak = leak
        out = pixels_of(edit(anyfast_simulator, source_png(), mask=mask_png(region)))
        return np.abs(out - source).mean(axis=-1)[~region].mean(), np.abs(out - source).mean(axis=-1)[region].mean()

    (none, _), (some, inside), (more, _) = outside_change(0.0), outside_change(0.2), outside_change(0.8)
    assert none == 0 < some < more and some < inside / 4


def test_a_chunked_upload_is_read_whole(anyfast_simulator):
    request = httpx.Request("POST", anyfast_simulator.base_url + EDIT,
                            data={"model": MODEL, "prompt": "x", "size": SIZE, "response_format": "b64_json"},
                            files=files(source_png()), headers={"Authorization": f"Bearer {anyfast_simulator.api_key}"})
    body = request.read()

    def pieces():
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = session.post(request.url, content=pieces(), headers={
        "Authorization": request.headers["authorization"], "Content-Type": request.headers["content-type"]})
    assert "transfer-encoding" in anyfast_simulator.api_requests[-1].headers
    assert image_of(response).size == (W, H)


def test_uploads_are_recorded_byte_exact(anyfast_simulator):
    mask = mask_png(box())
    edit(anyfast_simulator, source_png(), encode(gradient(64, 64)), mask=mask)
    (request,) = anyfast_simulator.api_requests
    assert [(f.field, f.filename, f.content_type) for f in request.files] == [
        ("image[]", "source0.png", "image/png"), ("image[]", "source1.png", "image/png"), ("mask", "mask.png", "image/png")]
    assert request.files[0].data == source_png() and request.files[2].data == mask
    assert request.fields == {"model": MODEL, "prompt": "a red door", "size": SIZE, "response_format": "b64_json"}
    assert request.status == 200 and anyfast_simulator.request_count(EDIT) == 1 and anyfast_simulator.request_count(GEN) == 0


# -- refusals ------------------------------------------------------------------------------


def test_the_moderation_trigger_is_refused_unless_moderation_is_low(anyfast_simulator):
    error = error_of(generate(anyfast_simulator, "a BlockMe scene"))
    assert (error["code"], error["type"]) == ("moderation_blocked", "image_generation_user_error")
    assert "safety system" in error["message"] and "safety_violations=[violence]" in error["message"]
    assert generate(anyfast_simulator, "a BlockMe scene", moderation="low").status_code == 200
    assert error_of(edit(anyfast_simulator, source_png(), prompt="blockme"))["code"] == "moderation_blocked"


def test_refused_masks_say_the_direct_group_is_needed(anyfast_simulator):
    anyfast_simulator.refuse_masks = True
    error = error_of(edit(anyfast_simulator, source_png(), mask=mask_png(box())))
    assert error["code"] == "mask_not_allowed" and "Direct" in error["message"]
    assert edit(anyfast_simulator, source_png()).status_code == 200, "edits without a mask still work"


# -- download links ------------------------------------------------------------------------


def test_a_url_result_downloads_from_another_origin_without_the_key(anyfast_simulator):
    url = generate(anyfast_simulator, response_format="url").json()["data"][0]["url"]
    assert url.startswith(anyfast_simulator.download_url + "/files/")
    assert anyfast_simulator.download_url != anyfast_simulator.base_url
    download = session.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(download.content)).size == (W, H)
    session.get(url, headers={"Authorization": "Bearer leaked"})  # what a careless client would do
    seen = [r.headers.get("authorization") for r in anyfast_simulator.download_requests]
    assert seen == [None, "Bearer leaked"], "the download host records what it is sent"
    head = session.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(download.content) and not head.content


def test_a_link_expires_after_its_ttl_with_an_s3_style_403(anyfast_simulator):
    anyfast_simulator.url_ttl = 0.25
    url = generate(anyfast_simulator, response_format="url").json()["data"][0]["url"]
    assert session.get(url).status_code == 200
    time.sleep(0.3)
    expired = session.get(url)
    assert expired.status_code == 403 and expired.headers["content-type"] == "application/xml"
    assert b"<Code>AccessDenied</Code>" in expired.content and b"Request has expired" in expired.content


def test_a_tampered_link_is_refused(anyfast_simulator):
    url = generate(anyfast_simulator, response_format="url").json()["data"][0]["url"]
    later = url.replace("expires=", "expires=9")
    response = session.get(later)
    assert response.status_code == 403 and b"SignatureDoesNotMatch" in response.content


def test_download_faults(anyfast_simulator):
    url = generate(anyfast_simulator, response_format="url").json()["data"][0]["url"]
    anyfast_simulator.fail_next("download_expired")
    anyfast_simulator.fail_next("download_500")
    anyfast_simulator.fail_next("download_hang", seconds=2)
    assert session.get(url).status_code == 403
    assert session.get(url).status_code == 500
    with pytest.raises(httpx.ReadTimeout):
        session.get(url, timeout=0.1)
    assert session.get(url).status_code == 200


# -- scripted faults ---------------------------------------------------------------------------


def _is_not_json(response) -> bool:
    try:
        response.json()
    except ValueError:
        return True
    return False


def _b64_of(response) -> str:
    return response.json()["data"][0]["b64_json"]


def _is_cut_short(response) -> bool:
    try:
        image_of(response).load()
    except OSError:
        return True
    return False


def _is_not_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return True
    return False


# What a user would see for each kind of fault; the request after it is answered normally.
SCRIPTED_FAULTS = {
    "429 with Retry-After": ("429", {"retry_after": 2}, lambda r: r.status_code == 429 and r.headers["retry-after"] == "2"
                             and error_of(r, 429)["code"] == "rate_limit_exceeded"),
    "429 without Retry-After": ("429", {}, lambda r: r.status_code == 429 and "retry-after" not in r.headers),
    "500": ("500", {}, lambda r: error_of(r, 500)["type"] == "server_error"),
    "502": ("502", {}, lambda r: error_of(r, 502)["type"] == "server_error"),
    "503": ("503", {}, lambda r: error_of(r, 503)["type"] == "server_error"),
    "504": ("504", {}, lambda r: error_of(r, 504)["type"] == "server_error"),
    "proxy HTML page": ("html", {}, lambda r: r.status_code == 502 and r.headers["content-type"] == "text/html"
                        and b"<h1>502 Bad Gateway</h1>" in r.content),
    "proxy HTML page, 504": ("html", {"status": 504}, lambda r: r.status_code == 504 and b"Gateway Timeout" in r.content),
    "malformed JSON": ("malformed_json", {}, lambda r: r.status_code == 200 and _is_not_json(r)),
    "wrong format": ("wrong_format", {}, lambda r: image_of(r).format == "JPEG"),
    "invalid base64": ("invalid_b64", {}, lambda r: _is_not_base64(_b64_of(r))),
    "truncated base64": ("truncated_b64", {}, lambda r: not _is_not_base64(_b64_of(r)) and _is_cut_short(r)),
}


@pytest.mark.parametrize("case", SCRIPTED_FAULTS)
def test_a_scripted_fault_answers_once_as_described(anyfast_simulator, case):
    kind, options, looks_right = SCRIPTED_FAULTS[case]
    anyfast_simulator.fail_next(kind, **options)
    response = generate(anyfast_simulator)
    assert response.headers["x-request-id"].startswith("req_")
    assert looks_right(response)
    assert image_of(generate(anyfast_simulator)).format == "PNG", "the next request is answered normally"


def test_a_slow_body_arrives_whole_in_pieces(anyfast_simulator):
    anyfast_simulator.fail_next("slow_body", chunks=5, delay=0.04)
    arrivals, pieces = [], []
    auth = {"Authorization": f"Bearer {anyfast_simulator.api_key}"}
    body = {"model": MODEL, "prompt": "x", "size": SIZE, "response_format": "b64_json"}
    with session.stream("POST", anyfast_simulator.base_url + GEN, headers=auth, json=body) as response:
        for piece in response.iter_raw():
            arrivals.append(time.perf_counter())
            pieces.append(piece)
    body = b"".join(pieces)
    assert len(body) == int(response.headers["content-length"])
    assert arrivals[-1] - arrivals[0] >= 0.1
    assert image_of(httpx.Response(200, content=body)).size == (W, H)


@pytest.mark.parametrize("kind", ["drop", "drop_mid_body"])
def test_a_dropped_connection_gives_no_whole_answer(anyfast_simulator, kind):
    anyfast_simulator.fail_next(kind)
    with pytest.raises(httpx.RemoteProtocolError):
        generate(anyfast_simulator)
    assert generate(anyfast_simulator).status_code == 200


def test_a_connection_dropped_mid_body_had_sent_real_headers(anyfast_simulator):
    anyfast_simulator.fail_next("drop_mid_body")
    auth = {"Authorization": f"Bearer {anyfast_simulator.api_key}"}
    body = {"model": MODEL, "prompt": "x", "size": SIZE, "response_format": "b64_json"}
    with session.stream("POST", anyfast_simulator.base_url + GEN, headers=auth, json=body) as response:
        assert response.status_code == 200 and int(response.headers["content-length"]) > 100_000
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()


def test_a_stall_trips_a_client_timeout_and_stop_ends_it():
    with Simulator() as sim:
        sim.fail_next("stall", seconds=30)
        with pytest.raises(httpx.ReadTimeout):
            post(sim, GEN, json={"model": MODEL, "prompt": "x"}, timeout=0.1)
        started = time.perf_counter()
    assert time.perf_counter() - started < 2, "stop() must not wait out the stall"


def test_faults_happen_in_the_order_queued_and_skip_requests_without_a_key(anyfast_simulator):
    anyfast_simulator.fail_next("429", count=2)
    anyfast_simulator.fail_next(503)
    assert anyfast_simulator.pending_faults() == ["429", "429", "503"]
    assert post(anyfast_simulator, GEN, key="sk-wrong", json={}).status_code == 401
    codes = [generate(anyfast_simulator).status_code for _ in range(4)]
    assert codes == [429, 429, 503, 200]


def test_queued_faults_are_shared_out_exactly_under_concurrency(anyfast_simulator):
    anyfast_simulator.fail_next("503", count=8)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: generate(anyfast_simulator, f"p{i % 2}", response_format="url").status_code, range(20)))
    assert sorted(codes) == [200] * 12 + [503] * 8


def test_an_unknown_fault_or_option_is_refused(anyfast_simulator):
    with pytest.raises(ValueError, match="unknown fault"):
        anyfast_simulator.fail_next("teapot")
    with pytest.raises(ValueError, match="unknown fault option"):
        anyfast_simulator.fail_next("stall", minutes=1)
    with pytest.raises(ValueError, match="count"):
        anyfast_simulator.fail_next("500", count=0)
    assert set(FAULT_KINDS) >= {"429", "500", "502", "503", "html", "drop", "drop_mid_body", "malformed_json",
                                "slow_body", "stall", "truncated_b64", "invalid_b64", "wrong_format"}


def test_latency_counts_from_arrival(anyfast_simulator):
    anyfast_simulator.latency = 0.15
    started = time.perf_counter()
    assert generate(anyfast_simulator, "slowly").status_code == 200
    assert 0.15 <= time.perf_counter() - started < 1.0


def test_the_failure_rate_is_transient_and_seeded():
    def codes(seed):
        with Simulator(failure_rate=0.5, seed=seed) as sim:
            return [post(sim, GEN, json={"model": MODEL, "prompt": "x", "size": SIZE}).status_code for _ in range(16)]

    first = codes(3)
    assert set(first) == {200, 429, 503} and first == codes(3) and first != codes(4)


def test_failure_kinds_choose_what_the_failure_rate_draws_and_each_request_records_its_fault(anyfast_simulator):
    sim = anyfast_simulator
    kinds = [{"kind": "429"}, {"kind": "429", "retry_after": 0.3}, {"kind": "html", "status": 504}]
    sim.configure(failure_rate=1.0, failure_kinds=["429", *kinds[1:]])
    answers = [generate(sim) for _ in range(24)]
    assert {(a.status_code, a.headers.get("retry-after")) for a in answers} == {(429, None), (429, "0.3"), (504, None)}
    assert [r.status for r in sim.api_requests] == [a.status_code for a in answers]
    summary = session.get(sim.base_url + "/_simulator/requests").json()["requests"]
    assert [r["fault"] for r in summary] == [r.fault.spec() for r in sim.api_requests]
    assert sim.settings()["failure_kinds"] == kinds

    sim.configure(failure_rate=0.0)
    assert generate(sim).status_code == 200 and sim.api_requests[-1].fault is None
    for wrong in (["teapot"], ["download_500"], [{"kind": "429", "wait": 1}], [], "503", [{"retry_after": 1}]):
        with pytest.raises((ValueError, TypeError)):
            sim.configure(failure_kinds=wrong)
    assert len(sim.failure_kinds) == 3


# -- HTTP itself ---------------------------------------------------------------------------------


def test_connections_are_kept_alive(anyfast_simulator):
    connection = http.client.HTTPConnection(anyfast_simulator.base_url.removeprefix("http://"))
    sockets = []
    for _ in range(3):
        connection.request("POST", GEN, body=b'{"model": "gpt-image-2-c", "prompt": "x", "size": "1x1"}',
                           headers={"Authorization": f"Bearer {anyfast_simulator.api_key}", "Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 400 and int(response.getheader("Content-Length")) == len(response.read())
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is not None and sockets.count(sockets[0]) == 3


def test_a_body_that_cannot_be_read_closes_the_connection(anyfast_simulator):
    host, port = anyfast_simulator.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(f"POST {GEN} HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n{{}}".encode())
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"Connection: close" in answer and b"x-request-id: req_" in answer


def test_stop_ends_idle_keep_alive_connections():
    sim = Simulator().start()
    url = sim.base_url + GEN
    with httpx.Client() as client:
        assert client.post(url, json={}).status_code == 401
        sim.stop()
        with pytest.raises(httpx.TransportError):
            client.post(url, json={})


# -- admin endpoints ---------------------------------------------------------------------------------


def test_admin_endpoints_drive_the_server_from_another_process(anyfast_simulator):
    admin = anyfast_simulator.base_url + "/_simulator"
    assert session.post(admin + "/faults", json={"kind": "503", "count": 2}).json() == {"pending": ["503", "503"]}
    assert session.post(admin + "/faults", json={"kind": "429", "retry_after": 1}).status_code == 200
    assert session.get(admin + "/faults").json() == {"pending": ["503", "503", "429"]}
    settings = session.post(admin + "/config", json={"leak": 0.1, "refuse_masks": True}).json()
    assert settings["leak"] == anyfast_simulator.leak == 0.1 and anyfast_simulator.refuse_masks is True
    assert session.get(admin + "/config").json() == settings

    codes = [generate(anyfast_simulator).status_code for _ in range(4)]
    assert codes == [503, 503, 429, 200]
    requests = session.get(admin + "/requests").json()
    assert requests["count"] == 4 and requests["by_path"] == {GEN: 4} and requests["downloads"] == 0
    assert [r["status"] for r in requests["requests"]] == codes and requests["requests"][0]["fields"]["prompt"] == "a lighthouse"

    assert session.post(admin + "/reset").status_code == 200
    assert anyfast_simulator.request_count() == 0 and session.get(admin + "/requests").json()["count"] == 0


@pytest.mark.parametrize(
    "path, body",
    [("/faults", {"kind": "teapot"}), ("/faults", {"count": 2}), ("/faults", {"kind": "stall", "seconds": "soon"}),
     ("/config", {"leak": 2}), ("/config", {"colour": "red"}), ("/config", [1])],
)
def test_admin_endpoints_refuse_nonsense_with_400(anyfast_simulator, path, body):
    response = session.post(anyfast_simulator.base_url + "/_simulator" + path, json=body)
    assert error_of(response)["message"]
    assert anyfast_simulator.pending_faults() == [] and anyfast_simulator.leak == 0


# -- the command line -------------------------------------------------------------------------


def test_the_command_line_prints_its_url_serves_and_stops_on_either_signal():
    command = [sys.executable, "-m", "anyfast_widget.simulator", "--port", "0", "--api-key", "sk-cli", "--refuse-masks",
               "--latency", "0.01"]
    processes = {signum: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for signum, process in processes.items():
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and "sk-cli" not in url
            response = session.post(url + GEN, json={"model": MODEL, "prompt": "cli", "size": SIZE},
                                  headers={"Authorization": "Bearer sk-cli"}, timeout=30)
            assert response.status_code == 200 and response.json()["data"][0]["url"]
            assert session.get(url + "/_simulator/config").json()["refuse_masks"] is True
            process.send_signal(signum)
        for process in processes.values():
            assert process.wait(10) == 0
            assert "sk-cli" not in process.stderr.read()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()


# -- the official openai SDK, a second and independent client ------------------------------------


def test_the_openai_sdk_generates_and_edits_with_two_sources_and_a_mask(anyfast_simulator, tmp_path):
    sdk = openai.OpenAI(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url + "/v1", max_retries=0)
    generated = sdk.images.generate(model=MODEL, prompt="an owl", size="1024x1536", response_format="b64_json")
    owl = Image.open(io.BytesIO(base64.b64decode(generated.data[0].b64_json)))
    assert owl.size == (1024, 1536) and generated.data[0].revised_prompt and generated.created

    region = np.zeros((1536, 1024), bool)
    region[:500] = True
    (tmp_path / "owl.png").write_bytes(encode(owl))
    (tmp_path / "second.png").write_bytes(source_png())
    (tmp_path / "mask.png").write_bytes(mask_png(region))
    with open(tmp_path / "owl.png", "rb") as a, open(tmp_path / "second.png", "rb") as b, open(tmp_path / "mask.png", "rb") as m:
        edited = sdk.images.edit(model=MODEL, image=[a, b], mask=m, prompt="add a moon", size="1024x1536",
                                 response_format="b64_json", output_format="png")
    result = Image.open(io.BytesIO(base64.b64decode(edited.data[0].b64_json)))
    assert result.size == (1024, 1536)
    request = anyfast_simulator.api_requests[-1]
    assert [f.field for f in request.files] == ["image[]", "image[]", "mask"]
    out, before = np.asarray(result.convert("RGB")), np.asarray(owl.convert("RGB"))
    assert np.array_equal(out[~region], before[~region]) and not np.array_equal(out[region], before[region])


def test_the_openai_sdk_reads_the_error_bodies(anyfast_simulator):
    sdk = openai.OpenAI(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url + "/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.images.generate(model=MODEL, prompt="x", size="1000x1000")
    assert bad.value.code == "multiple_of_16" and bad.value.param == "size" and bad.value.request_id.startswith("req_")
    with pytest.raises(openai.BadRequestError) as blocked:
        sdk.images.generate(model=MODEL, prompt="blockme")
    assert blocked.value.code == "moderation_blocked"
    anyfast_simulator.fail_next("429", retry_after=1)
    with pytest.raises(openai.RateLimitError):
        sdk.images.generate(model=MODEL, prompt="x")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-wrong", base_url=anyfast_simulator.base_url + "/v1", max_retries=0).images.generate(
            model=MODEL, prompt="x")
    url = sdk.images.generate(model=MODEL, prompt="x", size=SIZE).data[0].url
    assert Image.open(io.BytesIO(session.get(url).content)).size == (W, H)


def test_repeats_of_a_generation_differ_as_the_real_models_do():
    with Simulator(variation=0.25) as sim:
        first, second, third = (pixels_of(generate(sim, "a yellow kite")) for _ in range(3))
    assert np.abs(first - second).mean() > 1 and np.abs(second - third).mean() > 1
    with Simulator(variation=0.0) as sim:
        same = [pixels_of(generate(sim, "a yellow kite")) for _ in range(2)]
    assert np.array_equal(same[0], same[1]) and np.array_equal(same[0], first)
