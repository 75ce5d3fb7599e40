"""Pricing rules: token counts as gpt-image-1 publishes them, per-token and per-request prices, and their checks."""

from __future__ import annotations

import pytest

from anyfast_widget import TokenPrices, ValidationError, prepare_edit, prepare_generation
from anyfast_widget.core import Pricing, Usage, estimated_usage

from ..conftest import gradient

GPT_IMAGE_1 = TokenPrices(text_input=5.0, image_input=10.0, output=40.0)  # dollars per million tokens


@pytest.mark.parametrize(("quality", "tokens"), [("low", 272), ("medium", 1056), ("high", 4160)])
def test_a_square_image_takes_the_published_output_tokens(quality, tokens):
    assert estimated_usage(prepare_generation("a fox", quality=quality)).output_tokens == tokens


def test_other_sizes_scale_the_output_tokens_by_area():
    # OpenAI's table: 1024x1536 is 408 / 1584 / 6240 tokens.
    tall = [prepare_generation("a fox", quality=q, size="1024x1536") for q in ("low", "medium", "high")]
    counts = [estimated_usage(prepared).output_tokens for prepared in tall]
    assert counts == [408, 1584, 6240]
    assert estimated_usage(prepare_generation("a fox", quality="high", size="2048x2048")).output_tokens == 4 * 4160


def test_an_edit_counts_each_source_image_in_tiles():
    one = estimated_usage(prepare_edit("make it night", [gradient(1024, 1024)]))
    two = estimated_usage(prepare_edit("make it night", [gradient(1024, 1024), gradient(64, 48)], size="1024x1024"))
    assert one.image_tokens == 85 + 170 * 4  # fitted to 768x768: four 512 px tiles
    assert two.image_tokens == 765 + 85 + 170  # a small source is one tile
    assert one.output_tokens == 1056  # edits take no quality: counted as medium


def test_the_prompt_counts_a_token_per_four_characters():
    assert estimated_usage(prepare_generation("x" * 40)).text_tokens == 10


def test_token_prices_price_a_usage_block():
    usage = Usage.from_response(
        {"input_tokens": 30, "output_tokens": 4160, "total_tokens": 4190,
         "input_tokens_details": {"text_tokens": 10, "image_tokens": 20}}
    )
    assert usage == Usage(10, 20, 4160)
    assert GPT_IMAGE_1.cost(usage) == pytest.approx((10 * 5 + 20 * 10 + 4160 * 40) / 1e6)


@pytest.mark.parametrize("usage", [None, "12", {"output_tokens": 5}, {"output_tokens": -1, "input_tokens_details": {}},
                                   {"output_tokens": 5, "input_tokens_details": {"text_tokens": "a lot"}}])
def test_a_missing_or_odd_usage_block_is_not_read(usage):
    assert Usage.from_response(usage) is None


def test_usage_is_priced_by_tokens_and_otherwise_by_the_table():
    prepared = prepare_generation("a fox", quality="high")
    pricing = Pricing.of({"low": 0.01, "medium": 0.04, "high": 0.17}, GPT_IMAGE_1)
    usage = {"output_tokens": 1000, "input_tokens_details": {"text_tokens": 0, "image_tokens": 0}}
    assert pricing.recorded(prepared, usage) == (pytest.approx(0.04), "usage")
    assert pricing.recorded(prepared, None) == (0.17, "table")
    assert Pricing.of(None, GPT_IMAGE_1).recorded(prepared, None) == (None, None)  # nothing known: nothing invented


def test_the_expected_cost_is_the_table_price_or_the_estimated_tokens():
    prepared = prepare_generation("a fox", quality="low")
    assert Pricing.of({"low": 0.011}).expected(prepared) == 0.011
    assert Pricing.of(None, GPT_IMAGE_1).expected(prepared) == pytest.approx((2 * 5 + 272 * 40) / 1e6)


def test_a_price_function_gets_the_request_parameters():
    seen = []
    pricing = Pricing.of(lambda p: seen.append(p) or 0.5)
    assert pricing.expected(prepare_generation("a fox", size="1536x1024")) == 0.5
    assert seen[0]["endpoint"] == "generations" and seen[0]["size"] == "1536x1024" and seen[0]["quality"] == "medium"


def test_edits_are_priced_by_the_tables_edits_entry():
    assert Pricing.of({"edits": 0.05}).expected(prepare_edit("night", [gradient()])) == 0.05


@pytest.mark.parametrize(
    ("prices", "rule"),
    [({"ultra": 1.0}, "unknown_key"), ({"low": -1}, "price"), ({"low": "cheap"}, "price"), ([0.01], "type")],
)
def test_a_bad_price_table_is_refused_naming_prices(prices, rule):
    with pytest.raises(ValidationError) as caught:
        Pricing.of(prices)
    assert [(v.field, v.rule) for v in caught.value.violations] == [("prices", rule)]


def test_a_table_without_the_quality_asked_for_says_which():
    with pytest.raises(ValidationError, match="no entry for 'high'"):
        Pricing.of({"low": 0.01}).expected(prepare_generation("a fox", quality="high"))


def test_token_prices_must_be_amounts():
    with pytest.raises(ValidationError) as caught:
        TokenPrices(text_input=5.0, image_input=float("nan"), output=40.0)
    assert caught.value.violations[0].field == "token_prices" and "image_input" in caught.value.violations[0].message


def test_no_prices_is_no_pricing():
    assert Pricing.of(None, None) is None
