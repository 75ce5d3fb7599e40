"""The API's rules, checked locally: each one names its field, its rule and a fix."""

from hypothesis import given
from hypothesis import strategies as st

from anyfast_widget.core._rules import (
    MAX_EDGE,
    MAX_PIXELS,
    MIN_PIXELS,
    MODEL,
    UploadInfo,
    check_mask,
    check_params,
    check_sources,
    format_size,
    is_valid_size,
    nearest_sizes,
    parse_size,
    size_violations,
    wire_fields,
)


def rules_broken(violations):
    return {(v.field, v.rule) for v in violations}


def test_default_and_common_sizes_are_valid():
    for size in ("1024x1024", "1536x1024", "1024x1536", "3840x2160", "2160x3840", "1280x720"):
        assert size_violations(size) == [], size


def test_each_size_rule_is_named():
    assert rules_broken(size_violations("1000x1024")) == {("size", "multiple_of_16")}
    assert rules_broken(size_violations("3072x1008")) == {("size", "max_ratio")}
    assert rules_broken(size_violations("512x512")) == {("size", "pixel_range")}
    assert ("size", "max_edge") in rules_broken(size_violations("4096x1024"))
    assert rules_broken(size_violations("3840x3840")) == {("size", "pixel_range")}
    assert rules_broken(size_violations("big")) == {("size", "format")}


def test_a_bad_size_suggests_the_nearest_valid_sizes():
    [violation] = size_violations("1000x1000")
    assert "1008x1008" in violation.fix and "992x992" in violation.fix
    assert "multiple of 16" in violation.message


@given(st.integers(1, 5000), st.integers(1, 5000))
def test_suggested_sizes_are_always_valid(width, height):
    for size in nearest_sizes(width, height):
        assert is_valid_size(*parse_size(size))


@given(st.integers(1, 300), st.integers(1, 300))
def test_size_validity_matches_the_spec_arithmetic(w16, h16):
    width, height = w16 * 16, h16 * 16
    expected = (
        max(width, height) <= 3 * min(width, height)
        and MIN_PIXELS <= width * height <= MAX_PIXELS
        and max(width, height) <= MAX_EDGE
    )
    assert is_valid_size(width, height) == expected
    assert (size_violations(f"{width}x{height}") == []) == expected


def test_enums_compression_and_prompt():
    broken = rules_broken(
        check_params(
            "generations",
            {"model": "gpt-image-2-c", "prompt": "  ", "quality": "ultra", "output_format": "webp",
             "moderation": "none", "response_format": "file", "output_compression": 101},
        )
    )
    assert broken == {
        ("prompt", "required"),
        ("quality", "enum"),
        ("output_format", "enum"),
        ("moderation", "enum"),
        ("response_format", "enum"),
        ("output_compression", "range"),
    }


def test_compression_with_png_is_flagged_as_waste_not_as_an_api_rule():
    [v] = check_params("generations", {"prompt": "x", "output_compression": 80})
    assert (v.field, v.rule, v.api_rule) == ("output_compression", "jpeg_only", False)
    assert check_params("generations", {"prompt": "x", "output_compression": 80}, strict=False) == []
    assert check_params("generations", {"prompt": "x", "output_format": "jpeg", "output_compression": 80}) == []


def test_edits_accept_only_their_fields():
    broken = rules_broken(check_params("edits", {"prompt": "x", "quality": "high", "moderation": "low", "n": 2}))
    assert broken == {("quality", "unknown_field"), ("moderation", "unknown_field"), ("n", "unknown_field")}
    assert rules_broken(check_params("generations", {"prompt": "x", "n": 2, "background": "transparent"})) == {
        ("n", "unknown_field"),
        ("background", "unknown_field"),
    }


def png(field, w=1024, h=1024, nbytes=1000, **kw):
    return UploadInfo(field, "png", w, h, nbytes, **kw)


def test_source_count_format_and_file_size():
    assert rules_broken(check_sources([])) == {("image", "required")}
    assert rules_broken(check_sources([png(f"image[{i}]") for i in range(17)])) == {("image[]", "max_count")}
    assert check_sources([png(f"image[{i}]") for i in range(16)]) == []
    webp = UploadInfo("image[1]", "webp", 10, 10, 100)
    assert rules_broken(check_sources([png("image[0]"), webp])) == {("image[1]", "format")}
    assert rules_broken(check_sources([png("image[0]", nbytes=50_000_000)])) == {("image[0]", "file_size")}


def test_mask_rules():
    primary = png("image[0]", 1024, 1024)
    good = png("mask", has_alpha=True, alpha_min=0, alpha_max=255)
    assert check_mask(good, primary) == []
    assert rules_broken(check_mask(png("mask"), primary)) == {("mask", "alpha")}
    assert rules_broken(check_mask(png("mask", 512, 512, has_alpha=True, alpha_min=0), primary)) == {("mask", "same_size")}
    jpeg_primary = UploadInfo("image[0]", "jpeg", 1024, 1024, 1000)
    assert rules_broken(check_mask(good, jpeg_primary)) == {("image[0]", "same_format")}
    opaque = png("mask", has_alpha=True, alpha_min=255, alpha_max=255)
    assert rules_broken(check_mask(opaque, primary)) == {("mask", "nothing_to_edit")}
    clear = png("mask", has_alpha=True, alpha_min=0, alpha_max=0)
    assert rules_broken(check_mask(clear, primary)) == {("mask", "keeps_nothing")}
    assert check_mask(clear, primary, strict=False) == []


# -- the wire: what a request must be as sent, beyond a user's settings ---------------------


def test_settings_leave_the_model_to_the_client_but_the_wire_requires_it():
    for endpoint in ("generations", "edits"):
        assert check_params(endpoint, {"prompt": "x"}) == []  # a user's settings: unchanged
        assert rules_broken(check_params(endpoint, {"prompt": "x"}, wire=True)) == {("model", "required")}
        [missing] = check_params(endpoint, {"prompt": "x"}, strict=False, wire=True)
        assert "missing" in missing.message and MODEL in missing.fix
        assert check_params(endpoint, {"model": MODEL, "prompt": "x"}, wire=True) == []
    assert rules_broken(check_params("generations", {"model": "gpt-image-1", "prompt": "x"}, wire=True)) == {("model", "enum")}


def test_on_the_wire_a_size_is_exactly_the_string_w_x_h():
    for loose in ("1024 x 1024", " 1024x1024", "1024x1024 ", "1024X1024", "1024×1024", "01024x1024", "1024x1024\n"):
        assert size_violations(loose) == [], loose  # fine in Python: the client formats it
        assert rules_broken(size_violations(loose, wire=True)) == {("size", "format")}, loose
        [v] = check_params("generations", {"model": MODEL, "prompt": "x", "size": loose}, wire=True)
        assert "exactly" in v.message and "'1024x1024'" in v.fix
    for value in ((1024, 1024), [1024, 1024], 1024, None, b"1024x1024"):
        [v] = size_violations(value, wire=True)
        assert (v.rule, "not a string" in v.message) == ("format", True), value
    assert size_violations((1024, 1024)) == []
    assert rules_broken(size_violations("big", wire=True)) == {("size", "format")}
    assert size_violations("1024x1024", wire=True) == [] and size_violations("3840x2160", wire=True) == []
    assert rules_broken(size_violations("1000x1000", wire=True)) == {("size", "multiple_of_16")}


@given(st.integers(1, 300), st.integers(1, 300))
def test_what_format_size_writes_passes_the_wire_check_exactly_when_it_is_valid(w16, h16):
    size = format_size(w16 * 16, h16 * 16)
    assert size_violations(size, wire=True) == size_violations(size)


def test_a_json_null_is_a_value_of_the_wrong_type_and_a_missing_required_one():
    # The spec declares every field a string (or, output_compression, an integer) and none nullable: a null is refused
    # with the rule any other wrong type breaks (this used to be read as an absent field, which the spec does not allow).
    expected = {"size": "format", "quality": "enum", "output_format": "enum", "output_compression": "range",
                "moderation": "enum", "response_format": "enum"}  # fmt: skip
    for field, rule in expected.items():
        [v] = check_params("generations", {"model": MODEL, "prompt": "x", field: None}, wire=True)
        assert (v.field, v.rule) == (field, rule), field
        assert v.message.startswith("null is not") and "leave the field out" in v.fix, v
        lenient = check_params("generations", {"model": MODEL, "prompt": "x", field: None}, strict=False, wire=True)
        assert rules_broken(lenient) == {(field, rule)}, "the API's own rule, not the client's prudence"
    for field in ("size", "output_format", "output_compression", "response_format"):
        assert rules_broken(check_params("edits", {"model": MODEL, "prompt": "x", field: None}, wire=True)) == {
            (field, expected[field])
        }
    nulls = {"model": MODEL, "prompt": "x", **{field: None for field in expected}}
    assert rules_broken(check_params("generations", nulls, wire=True)) == set(expected.items())
    [prompt] = check_params("generations", {"model": MODEL, "prompt": None}, wire=True)
    assert (prompt.field, prompt.rule, prompt.message) == ("prompt", "required", "the prompt is missing.")
    assert rules_broken(check_params("edits", {"model": None, "prompt": "x"}, wire=True)) == {("model", "required")}
    # A field the endpoint does not take is refused whatever its value.
    n_null = {"model": MODEL, "prompt": "x", "n": None}
    quality_null = {"model": MODEL, "prompt": "x", "quality": None}
    assert rules_broken(check_params("generations", n_null, wire=True)) == {("n", "unknown_field")}
    assert rules_broken(check_params("edits", quality_null, wire=True)) == {("quality", "unknown_field")}
    assert wire_fields("edits", {"quality": None, "size": None}) == {"quality": None, "size": None}


def test_an_integer_is_json_schemas_integer_and_form_text_is_read_as_a_number():
    from anyfast_widget.core._rules import read_form_fields

    def compression(value, **extra):
        return rules_broken(check_params("generations", {"model": MODEL, "prompt": "x", "output_format": "jpeg",
                                                         "output_compression": value, **extra}, wire=True))  # fmt: skip

    for whole in (80, 80.0, 0.0, -0.0, 100.0, 1e2):
        assert compression(whole) == set(), whole
        assert check_params("generations", {"prompt": "x", "output_format": "jpeg", "output_compression": whole}) == []
    for bad in (80.5, 100.5, 101.0, -1.0, float("inf"), float("nan"), True, "80", None, 1e300):
        assert compression(bad) == {("output_compression", "range")}, bad
    fields = wire_fields("generations", {"model": MODEL, "prompt": "x", "output_compression": 80.0, "size": "1024x1024"})
    assert fields == {"model": MODEL, "prompt": "x", "output_compression": 80, "size": "1024x1024"}
    assert type(fields["output_compression"]) is int
    read = {text: read_form_fields({"prompt": "50", "output_compression": text})["output_compression"]
            for text in ("50", "50.0", " 50 ", "5e1", "+50", "050", "50.5", "high", "", "1" * 41, "٥٠", "5_0", "nan")
            }  # fmt: skip
    assert read == {"50": 50, "50.0": 50, " 50 ": 50, "5e1": 50, "+50": 50, "050": 50, "50.5": 50.5, "high": "high",
                    "": "", "1" * 41: "1" * 41, "٥٠": "٥٠", "5_0": "5_0", "nan": "nan"}  # fmt: skip
    assert all(type(read[t]) is int for t in ("50", "50.0", "5e1"))
    assert read_form_fields({"prompt": "50"}) == {"prompt": "50"}, "only the spec's integer fields are numbers"


def test_only_the_endpoints_own_media_type_is_its_body():
    from anyfast_widget.core._rules import MEDIA_TYPES, media_type

    assert MEDIA_TYPES == {"generations": "application/json", "edits": "multipart/form-data"}
    for header in ("application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", " application/json "):
        assert media_type(header) == "application/json", header
    for header in ("application/jsonx", "application/json-patch+json", "text/json", "application/x-www-form-urlencoded",
                   "application/json, text/plain", "", None):  # fmt: skip
        assert media_type(header) != "application/json", header
    assert media_type("multipart/form-data; boundary=abc") == "multipart/form-data"
    assert media_type("multipart/form-datax; boundary=abc") != "multipart/form-data"


def test_a_bearer_key_follows_one_or_more_spaces_after_a_scheme_in_any_case():
    from anyfast_widget.core._rules import bearer_key

    for header in ("Bearer sk-1", "Bearer  sk-1", "Bearer     sk-1", "bearer sk-1", "BEARER sk-1", "BeArEr sk-1", " Bearer sk-1"):
        assert bearer_key(header) == "sk-1", header
    assert bearer_key("Bearer abc+/_~.-xyz==") == "abc+/_~.-xyz=="
    for header in (None, "", "Bearer", "Bearer ", "Bearersk-1", "Bearer\tsk-1", "Basic sk-1", "Bearer sk-1 extra",
                   "Bearer sk 1", "Token sk-1", "Bearer sk-1=x", "Bearer ſk-1", "Beаrer sk-1"):  # fmt: skip
        assert bearer_key(header) is None, header


def test_a_users_settings_are_checked_as_before():
    """Without wire=True nothing about nulls, models or loose sizes changes (the widget relies on it)."""
    assert rules_broken(check_params("generations", {"prompt": "x", "quality": None})) == {("quality", "enum")}
    assert check_params("generations", {"prompt": "x", "size": "1536 x 1024"}) == []
    assert check_params("generations", {"prompt": "x", "size": (1536, 1024)}) == []
    [v] = check_params("generations", {"prompt": "   "})
    assert v.message == "the prompt is empty."
