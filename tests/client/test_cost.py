"""Each result records its cost, over real HTTP to the stand-in: from the answer's usage, or from the price table."""

from __future__ import annotations

import asyncio
import json

import pytest

from anyfast_widget import AsyncClient, Client, RunStore, TokenPrices, ValidationError

from ..conftest import gradient

GPT_IMAGE_1 = TokenPrices(text_input=5.0, image_input=10.0, output=40.0)  # dollars per million tokens
TABLE = {"low": 0.011, "medium": 0.042, "high": 0.167, "edits": 0.05}


def client_for(sim, run_dir, **options) -> Client:
    return Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, **options)


def test_a_generation_is_priced_by_the_tokens_its_answer_reports(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, token_prices=GPT_IMAGE_1) as client:
        result = client.generate("a fox", quality="low")
    usage = result.extras["usage"]
    # gpt-image-1 counts: 272 output tokens for a low 1024x1024 image; "a fox" is 2 text tokens.
    assert usage["output_tokens"] == 272 and usage["input_tokens_details"] == {"text_tokens": 2, "image_tokens": 0}
    assert result.cost == pytest.approx((2 * 5.0 + 272 * 40.0) / 1e6)
    assert result.cost_source == "usage"


def test_an_edit_pays_for_its_source_images_tokens(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, token_prices=GPT_IMAGE_1) as client:
        result = client.edit("make it night", [gradient(1024, 1024), gradient(64, 48)], size="1024x1024")
    # 765 tokens for the 1024x1024 source (four tiles), 255 for the small one (one tile); output as medium, 1056.
    assert result.extras["usage"]["input_tokens_details"]["image_tokens"] == 765 + 255
    assert result.cost == pytest.approx((4 * 5.0 + 1020 * 10.0 + 1056 * 40.0) / 1e6)


def test_without_token_prices_the_table_prices_each_result(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, prices=TABLE) as client:
        high = client.generate("a fox", quality="high")
        edit = client.edit("make it night", [gradient()])
    assert (high.cost, high.cost_source) == (0.167, "table")
    assert (edit.cost, edit.cost_source) == (0.05, "table")


def test_without_prices_a_result_has_no_cost(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir) as client:
        result = client.generate("a fox")
    assert (result.cost, result.cost_source) == (None, None)
    assert "usage" in result.extras  # what the server said is still kept


def test_the_cost_is_in_the_sidecar_and_read_back(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, prices=TABLE) as client:
        result = client.generate("a fox", quality="low")
    sidecar = json.loads(result.sidecar_path.read_text())
    assert (sidecar["cost"], sidecar["cost_source"]) == (0.011, "table")
    (found,) = RunStore(run_dir).find(request_hash=result.request_hash)
    assert (found.cost, found.cost_source) == (0.011, "table")


def test_a_sidecar_from_before_costs_loads_without_one(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, prices=TABLE) as client:
        result = client.generate("a fox", quality="low")
    old = json.loads(result.sidecar_path.read_text())
    del old["cost"], old["cost_source"]
    result.sidecar_path.write_text(json.dumps(old))
    (found,) = RunStore(run_dir).find(request_hash=result.request_hash)
    assert (found.cost, found.cost_source) == (None, None)


def test_a_request_the_table_cannot_price_is_not_sent(anyfast_simulator, run_dir):
    with client_for(anyfast_simulator, run_dir, prices={"low": 0.011}) as client:
        with pytest.raises(ValidationError) as caught:
            client.generate("a fox", quality="high")
    assert caught.value.violations[0].field == "prices" and "'high'" in caught.value.violations[0].message
    assert anyfast_simulator.request_count() == 0


def test_a_bad_price_table_is_refused_when_the_client_is_made(anyfast_simulator, run_dir):
    with pytest.raises(ValidationError) as caught:
        client_for(anyfast_simulator, run_dir, prices={"low": "cheap"})
    assert caught.value.violations[0].field == "prices"


def test_the_async_client_records_the_same_cost(anyfast_simulator, run_dir):
    async def main():
        async with AsyncClient(
            api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, token_prices=GPT_IMAGE_1
        ) as client:
            return await client.generate("a fox", quality="high", size="1536x1024")

    result = asyncio.run(main())
    assert result.extras["usage"]["output_tokens"] == 6240  # 4160 scaled by area, as OpenAI's table says
    assert (result.cost, result.cost_source) == (pytest.approx((2 * 5.0 + 6240 * 40.0) / 1e6), "usage")
