"""Grid specs: a grid saved as TOML and read back is the same grid (same id, same requests); bad specs name key and line."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import Axis, Mask, TokenPrices, ValidationError, compare, load_spec, masks, prompts, replace, sources

from ..conftest import encode, gradient


@pytest.fixture
def kwargs(anyfast_simulator, run_dir):
    return {
        "api_key": anyfast_simulator.api_key,
        "base_url": anyfast_simulator.base_url,
        "run_dir": run_dir,
        "progress": False,
    }


def _requests(grid):
    return [(c.labels, c.prepared.request_hash) for c in grid.cells]


def _reload(grid, path, kwargs):
    grid.save_spec(path)
    return compare(**load_spec(path).arguments, run=False, **kwargs)


def test_a_generation_grid_comes_back_with_the_same_id_requests_and_labels(kwargs, tmp_path):
    grid = compare(
        "a fox in the snow",
        rows={"quality": ["low", "high"]},
        cols=replace("fox", ["fox", "wolf"], labels=["F", "W"]),
        pages=prompts(["a fox in the snow", "a fox at night"], labels=["snow", "night"]),
        repeats=2,
        size="1536x1024",
        output_format="jpeg",
        run=False,
        **kwargs,
    )
    again = _reload(grid, tmp_path / "fox.toml", kwargs)
    assert again.id == grid.id
    assert _requests(again) == _requests(grid)
    assert again.cell(1, 1, 1).labels == ("night", "high", "W")


def test_the_spec_reads_as_a_person_would_write_it(kwargs, tmp_path):
    grid = compare("a fox", rows={"quality": ["low", "high"]}, cols=replace("fox", ["fox", "wolf"]), run=False, **kwargs)
    text = grid.save_spec(tmp_path / "fox.toml").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert 'prompt = "a fox"' in lines and "[rows]" in lines and 'field = "quality"' in lines
    assert "[cols]" in lines and 'replace = "fox"' in lines
    assert "labels" not in text  # default labels are left out, so editing the values is enough
    assert text.startswith("# ")  # a header says how to run and open it


def test_an_edit_grid_with_images_in_memory_writes_them_beside_the_spec(kwargs, tmp_path):
    source, other = gradient(64, 48), gradient(48, 64).rotate(90, expand=True)
    region = np.zeros((48, 64), bool)
    region[8:24, 8:40] = True
    grid = compare(
        "make it night",
        sources=[source],
        rows=masks([None, Mask(region), region]),
        cols=sources([source, [source, np.asarray(other)]], labels=["one", "two"]),
        run=False,
        **kwargs,
    )
    spec = grid.save_spec(tmp_path / "night.toml")
    files = sorted(p.name for p in (tmp_path / "night.files").iterdir())
    assert len([f for f in files if f.startswith("source-")]) == 2 and len([f for f in files if f.startswith("mask-")]) == 1
    # The files are the very bytes the requests upload.
    written = {p.read_bytes() for p in (tmp_path / "night.files").iterdir()}
    cell = grid.cell(1, 1)
    assert {s.data for s in cell.prepared.sources} | {cell.prepared.mask_file.data} <= written
    again = compare(**load_spec(spec).arguments, run=False, **kwargs)
    assert again.id == grid.id and _requests(again) == _requests(grid)


def test_a_picture_left_at_a_later_frame_is_saved_as_that_frame_and_left_there(kwargs, tmp_path):
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    animated = Image.open(io.BytesIO(buffer.getvalue()))
    animated.seek(1)  # the blue frame is the one the user chose, and the one compare() sends
    grid = compare("make it night", sources=[animated], cols={"size": ["1024x1024", "1536x1024"]}, run=False, **kwargs)
    again = _reload(grid, tmp_path / "night.toml", kwargs)
    assert animated.tell() == 1
    assert again.id == grid.id and _requests(again) == _requests(grid)


def test_files_given_by_path_stay_paths_relative_to_the_spec(kwargs, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "cat.png").write_bytes(encode(gradient(64, 48), "PNG"))
    grid = compare("make it night", sources=[images / "cat.png"], run=False, **kwargs)
    specs = tmp_path / "specs"
    specs.mkdir()
    text = grid.save_spec(specs / "cat.toml").read_text()
    assert 'sources = [\n    "../images/cat.png",\n]' in text
    assert not (specs / "cat.files").exists()
    copied = grid.save_spec(specs / "alone.toml", copy_files=True).read_text()
    assert "../images" not in copied and "alone.files/source-" in copied
    for name in ("cat.toml", "alone.toml"):
        assert compare(**load_spec(specs / name).arguments, run=False, **kwargs).id == grid.id


def test_prices_budget_token_prices_repeats_and_concurrency_come_back(kwargs, tmp_path):
    grid = compare(
        "a fox",
        cols={"quality": ["low", "high"]},
        prices={"low": 0.01, "high": 0.17},
        token_prices=TokenPrices(text_input=5, image_input=10, output=40),
        budget=0.5,
        repeats=3,
        concurrency=2,
        run=False,
        **kwargs,
    )
    grid.save_spec(tmp_path / "fox.toml")
    arguments = load_spec(tmp_path / "fox.toml").arguments
    assert arguments["prices"] == {"low": 0.01, "high": 0.17}
    assert arguments["token_prices"] == TokenPrices(text_input=5.0, image_input=10.0, output=40.0)
    assert (arguments["budget"], arguments["repeats"], arguments["concurrency"]) == (0.5, 3, 2)
    again = compare(**arguments, run=False, **kwargs)
    assert again.plan().cost_total == grid.plan().cost_total


def test_an_axis_of_several_fields_comes_back_whole(kwargs, tmp_path):
    style = Axis("style", ("plain", "big"), ({"quality": "low"}, {"quality": "high", "size": "1536x1024"}))
    grid = compare("a fox", rows=style, run=False, **kwargs)
    again = _reload(grid, tmp_path / "style.toml", kwargs)
    assert again.rows == style and _requests(again) == _requests(grid)


def test_a_loaded_grid_reuses_the_results_already_paid_for(kwargs, tmp_path, anyfast_simulator):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=2, **kwargs)
    assert anyfast_simulator.request_count() == 4
    again = _reload(grid, tmp_path / "fox.toml", kwargs)
    assert (again.plan().cached, again.plan().to_send) == (4, 0)


def test_a_price_function_cannot_be_saved(kwargs, tmp_path):
    grid = compare("a fox", prices=lambda params: 0.02, run=False, **kwargs)
    with pytest.raises(ValidationError) as caught:
        grid.save_spec(tmp_path / "fox.toml")
    assert caught.value.field == "prices" and "function" in caught.value.message
    assert not (tmp_path / "fox.toml").exists()


def _problems(tmp_path, text):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ValidationError) as caught:
        load_spec(tmp_path / "bad.toml")
    return {v.field: v for v in caught.value.violations}


def test_an_unknown_key_is_named_with_its_line(tmp_path):
    found = _problems(tmp_path, 'prompt = "a fox"\nrepeats = 2\nqualty = "low"\n')
    assert list(found) == ["qualty"]
    assert found["qualty"].rule == "unknown_key" and "line 3" in found["qualty"].message
    assert "quality" in found["qualty"].fix


def test_a_value_of_the_wrong_type_is_named_with_its_line(tmp_path):
    found = _problems(tmp_path, 'prompt = "a fox"\n\nrepeats = "two"\n')
    assert found["repeats"].rule == "type" and "line 3" in found["repeats"].message
    assert "whole number" in found["repeats"].message


def test_every_problem_of_a_spec_is_listed_at_once(tmp_path):
    text = 'prompt = "a fox"\nsources = ["nope.png"]\n\n[rows]\nfield = "quality"\nvalue = ["low"]\n'
    found = _problems(tmp_path, text)
    assert found["sources[0]"].rule == "missing_file" and "line 2" in found["sources[0]"].message
    assert str(tmp_path / "nope.png") in found["sources[0]"].message
    assert found["rows.value"].rule == "unknown_key" and "line 6" in found["rows.value"].message
    assert found["rows.values"].rule == "missing_key"


def test_an_axis_table_needs_exactly_one_form(tmp_path):
    found = _problems(tmp_path, 'prompt = "a fox"\n[cols]\nfield = "quality"\nreplace = "fox"\nvalues = ["low"]\n')
    assert found["cols"].rule == "axis_form" and "line 2" in found["cols"].message


def test_broken_toml_is_named_with_its_line(tmp_path):
    found = _problems(tmp_path, 'prompt = "a fox"\nrepeats = \n')
    assert found["spec"].rule == "toml" and "line 2" in found["spec"].message


def test_a_missing_spec_file_is_named(tmp_path):
    with pytest.raises(ValidationError, match="no spec file"):
        load_spec(tmp_path / "nowhere.toml")


def test_the_requests_of_a_spec_are_checked_by_the_api_rules(kwargs, tmp_path):
    (tmp_path / "big.toml").write_text('prompt = "a fox"\n[cols]\nfield = "size"\nvalues = ["1024x1024", "5000x1000"]\n')
    with pytest.raises(ValidationError, match=r"\[5000x1000\]"):
        compare(**load_spec(tmp_path / "big.toml").arguments, run=False, **kwargs)
