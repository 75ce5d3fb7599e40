"""Response bodies: the image decoded while it streams in equals the image decoded from the whole body."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anyfast_widget import MalformedResponseError
from anyfast_widget.client._body import Body, ImageBody
from anyfast_widget.client._response import parse_success
from anyfast_widget.core._errors import AnyfastError
from anyfast_widget.core._request import prepare_generation

PREPARED = prepare_generation("x", response_format="b64_json")


def too_big(n: int) -> AnyfastError:
    return AnyfastError(f"too big: {n}")


def feed(body: bytes, cuts: list[int], cls=ImageBody) -> ImageBody:
    stream = cls(10**9, too_big)
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    for a, b in zip(points, points[1:], strict=False):
        stream.add(body[a:b])
    return stream


@settings(max_examples=200)
@given(
    image=st.binary(min_size=0, max_size=300),
    revised=st.text(max_size=40),
    before=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=12),
    spaced=st.booleans(),
)
def test_streamed_decoding_matches_a_whole_parse(image, revised, before, cuts, spaced):
    item = {"revised_prompt": revised, "b64_json": base64.b64encode(image).decode()}
    if not before:
        item = {"b64_json": item["b64_json"], "revised_prompt": revised}
    body = json.dumps({"created": 1, "data": [item], "usage": {"total_tokens": 3}},
                      separators=(", ", ": ") if spaced else (",", ":")).encode()
    streamed = parse_success(feed(body, cuts), PREPARED, None)
    whole = parse_success(body, PREPARED, None)
    assert streamed.image == whole.image == image
    assert streamed.revised_prompt == whole.revised_prompt == revised
    assert streamed.extras == whole.extras == {"created": 1, "usage": {"total_tokens": 3}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"note": {"b64_json": "QUJD"}, "data": [{"b64_json": "QUJE"}]}',  # the key first seen is not data[0]'s
        b'{"data": [{"b64_json": "QU\\/J"}]}',  # an escaped slash: JSON allows it
        b'{"data": [{"revised_prompt": "say \\"b64_json\\": \\"x", "b64_json": "QUJD"}]}',
    ],
)
def test_unusual_shapes_fall_back_to_the_exact_parse(body):
    expected = parse_success(body, PREPARED, None).image
    assert parse_success(feed(body, [7, 19, 30]), PREPARED, None).image == expected


@pytest.mark.parametrize("b64", ["QUJ", "!!QUJD", "QU JD", "QUJD=", "QUJD===="])
def test_bad_base64_is_malformed_either_way(b64):
    body = json.dumps({"data": [{"b64_json": b64}]}).encode()
    for given_body in (body, feed(body, [10, 20])):
        with pytest.raises(MalformedResponseError, match="base64"):
            parse_success(given_body, PREPARED, None)


def test_the_size_cap_stops_reading():
    body = Body(100, too_big)
    body.add(os.urandom(60))
    with pytest.raises(AnyfastError, match="too big: 120"):
        body.add(os.urandom(60))
    with pytest.raises(AnyfastError, match="too big: 5000"):
        Body(100, too_big).start({"content-length": "5000"})


@settings(max_examples=300)
@given(
    b64=st.text(alphabet="QUJDRA=", min_size=0, max_size=24),
    cuts=st.lists(st.integers(0, 80), max_size=8),
)
def test_streamed_base64_is_as_strict_as_the_whole_parse(b64, cuts):
    """Padding in the middle ("QQ==QUJD") is refused whole; cut between chunks it must be refused too."""
    body = json.dumps({"data": [{"b64_json": b64}]}).encode()

    def outcome(given_body):
        try:
            return parse_success(given_body, PREPARED, None).image
        except MalformedResponseError:
            return "malformed"

    assert outcome(feed(body, cuts)) == outcome(body)


def test_padding_before_a_chunk_boundary_is_malformed():
    body = b'{"data": [{"b64_json": "QQ==QUJD"}]}'
    with pytest.raises(MalformedResponseError, match="base64"):
        parse_success(body, PREPARED, None)
    cut = body.index(b"QUJD")
    with pytest.raises(MalformedResponseError, match="base64"):
        parse_success(feed(body, [cut]), PREPARED, None)


def test_any_chunking_of_a_padded_image_decodes_it_exactly():
    """One byte at a time (the padding arriving alone), odd cuts, and httpx's 64 KiB reads."""
    image = os.urandom(200_000)
    body = json.dumps({"data": [{"b64_json": base64.b64encode(image).decode()}]}).encode()
    for step in (1, 3, 4097, 65536):
        assert feed(body, list(range(0, len(body), step))).split()[1] == image


def test_a_streamed_image_is_read_without_joining_the_whole_body():
    """The fast path hands the JSON parser only the small remainder; the megabytes are never joined."""

    class NoJoin(ImageBody):
        def raw(self):
            raise AssertionError("raw() joined the whole body")

    image = os.urandom(3000)
    body = json.dumps({"created": 1, "data": [{"b64_json": base64.b64encode(image).decode()}]}).encode()
    assert parse_success(feed(body, [100, 2000], cls=NoJoin), PREPARED, None).image == image
