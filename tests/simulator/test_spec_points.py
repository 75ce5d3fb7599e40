"""Where the stand-in once disagreed with the provider's OpenAPI spec, checked over real HTTP with raw httpx requests.

A null is no string (nor integer), ``80.0`` is JSON Schema's integer 80 (and ``"50.0"`` in a form), only
``application/json`` is JSON, and ``Authorization: Bearer`` takes one or more spaces (RFC 6750) and a scheme in any
case (RFC 7235). Each verdict is the one the rules module (``check_params(..., wire=True)``) predicts, so the client,
the stand-in and the widget agree.
"""

from __future__ import annotations

import json

import httpx
import pytest

from anyfast_widget.core import MEDIA_TYPES, bearer_key, check_params, media_type

from .test_simulator import EDIT, GEN, MODEL, SIZE, error_of, files, image_of, source_png

session = httpx.Client(timeout=30)


@pytest.fixture(autouse=True, scope="module")
def _close_the_client():
    yield
    session.close()


def raw(sim, path, *, authorization=None, **kwargs):
    headers = {"Authorization": f"Bearer {sim.api_key}" if authorization is None else authorization}
    return session.post(sim.base_url + path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)


def body(**fields):
    return {"model": MODEL, "prompt": "a kite", "size": SIZE, "response_format": "b64_json", **fields}


# -- null ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint, field, code",
    [("generations", f, c) for f, c in [("size", "format"), ("quality", "enum"), ("output_format", "enum"),
                                         ("moderation", "enum"), ("response_format", "enum"),
                                         ("output_compression", "range"), ("prompt", "required"), ("model", "required")]],
)  # fmt: skip
def test_json_null_is_refused_for_every_field_as_the_rules_predict(anyfast_simulator, endpoint, field, code):
    fields = body(**{field: None})
    [predicted, *_] = check_params(endpoint, fields, strict=False, wire=True)
    assert (predicted.field, predicted.rule) == (field, code)
    error = error_of(raw(anyfast_simulator, GEN, json=fields))
    assert (error["param"], error["code"]) == (field, code), error


def test_every_string_field_of_the_spec_refuses_null(anyfast_simulator):
    """All of them at once: the answer names the first, the message every one."""
    strings = ("size", "quality", "output_format", "moderation", "response_format")
    error = error_of(raw(anyfast_simulator, GEN, json=body(**dict.fromkeys(strings))))
    assert error["param"] == "size" and all(f"{name}: null is not" in error["message"] for name in strings), error


# -- integers --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [80.0, 8e1, 0.0, 100.0])
def test_a_json_number_with_no_fraction_is_an_integer(anyfast_simulator, value):
    anyfast_simulator.configure(variation=0)
    as_float = raw(anyfast_simulator, GEN, content=json.dumps(body(output_format="jpeg", output_compression=value)),
                   headers={"Content-Type": "application/json"})  # fmt: skip
    as_int = raw(anyfast_simulator, GEN, json=body(output_format="jpeg", output_compression=int(value)))
    assert image_of(as_float).format == "JPEG"
    assert image_of(as_float).tobytes() == image_of(as_int).tobytes(), "80.0 is read as 80"
    assert check_params("generations", body(output_format="jpeg", output_compression=value), wire=True) == []


@pytest.mark.parametrize("value", [80.5, 100.5, 101.0, -1.0, "80", True])
def test_a_fraction_or_another_type_is_still_refused(anyfast_simulator, value):
    error = error_of(raw(anyfast_simulator, GEN, json=body(output_format="jpeg", output_compression=value)))
    assert (error["param"], error["code"]) == ("output_compression", "range"), error


@pytest.mark.parametrize("text, allowed", [("50", True), ("50.0", True), (" 50.0 ", True), ("5e1", True),
                                           ("50.5", False), ("fifty", False), ("", False), ("101.0", False)])  # fmt: skip
def test_form_text_is_read_as_a_number(anyfast_simulator, text, allowed):
    fields = {"model": MODEL, "prompt": "a door", "size": SIZE, "response_format": "b64_json", "output_format": "jpeg",
              "output_compression": text}  # fmt: skip
    response = raw(anyfast_simulator, EDIT, data=fields, files=files(source_png()))
    if allowed:
        assert image_of(response).format == "JPEG"
        assert anyfast_simulator.api_requests[-1].fields["output_compression"] == 50
    else:
        error = error_of(response)
        assert (error["param"], error["code"]) == ("output_compression", "range"), error


# -- media types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, allowed",
    [("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON;charset=UTF-8", True),
     ("application/jsonx", False), ("application/json-seq", False), ("application/json-patch+json", False),
     ("text/json", False), ("text/plain", False), ("", False)],
)  # fmt: skip
def test_only_application_json_is_a_json_body(anyfast_simulator, content_type, allowed):
    response = raw(anyfast_simulator, GEN, content=json.dumps(body()), headers={"Content-Type": content_type})
    assert (media_type(content_type) == MEDIA_TYPES["generations"]) is allowed
    if allowed:
        assert image_of(response).format == "PNG"
    else:
        assert "application/json" in error_of(response)["message"]


def test_only_multipart_form_data_is_a_form(anyfast_simulator):
    request = httpx.Request("POST", anyfast_simulator.base_url + EDIT, data={"model": MODEL, "prompt": "x", "size": SIZE},
                            files=files(source_png()))  # fmt: skip
    payload = request.read()
    boundary = request.headers["content-type"].split("boundary=")[1]
    for content_type, allowed in ((f"multipart/form-data; boundary={boundary}", True),
                                  (f"Multipart/Form-Data; boundary={boundary}", True),
                                  (f"multipart/form-datax; boundary={boundary}", False),
                                  (f"multipart/mixed; boundary={boundary}", False)):  # fmt: skip
        response = raw(anyfast_simulator, EDIT, content=payload, headers={"Content-Type": content_type})
        assert (response.status_code == 200) is allowed, (content_type, response.text)


# -- the key -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spaces", [1, 2, 5])
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_takes_one_or_more_spaces_and_any_case(anyfast_simulator, scheme, spaces):
    authorization = f"{scheme}{' ' * spaces}{anyfast_simulator.api_key}"
    assert bearer_key(authorization) == anyfast_simulator.api_key
    assert raw(anyfast_simulator, GEN, authorization=authorization, json=body()).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer\t{key}", "Bearer{key}", "Basic {key}", "Bearer {key} extra", "Bearer {key}x", "Token {key}", "bearer",
     "Bearer ;{key}"],
)  # fmt: skip
def test_anything_else_is_still_401(anyfast_simulator, authorization):
    response = raw(anyfast_simulator, GEN, authorization=authorization.format(key=anyfast_simulator.api_key), json=body())
    assert error_of(response, 401)["code"] == "invalid_api_key"
