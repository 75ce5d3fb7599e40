"""A grid into pandas and Hugging Face datasets, against the stand-in: typed rows, images that round-trip, a lazy extra."""

from __future__ import annotations

import math

import datasets
import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ValidationError, compare, masks, prompts, replace

from ..conftest import gradient
from ..test_light_import import run_fresh

PRICES = {"low": 0.01, "high": 0.17}


@pytest.fixture
def grid_kwargs(anyfast_simulator, run_dir):
    return {"api_key": anyfast_simulator.api_key, "base_url": anyfast_simulator.base_url, "run_dir": run_dir, "progress": False}


@pytest.fixture
def foxes(grid_kwargs):
    """2 x 2 cells, 2 repeats each, priced, all done."""
    cols = replace("fox", ["fox", "owl"])
    return compare("a fox", rows={"quality": ["low", "high"]}, cols=cols, repeats=2, prices=PRICES, **grid_kwargs)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def _edit_grid(grid_kwargs):
    """An edit over two masks: the source is a gradient, the masks cover the top and the left of it."""
    top = np.zeros((1024, 1024), bool)
    top[:300] = True
    left = np.zeros((1024, 1024), bool)
    left[:, :300] = True
    cols = masks([top, left], labels=["top", "left"])
    return compare("make it night", sources=[gradient(1024, 1024)], cols=cols, **grid_kwargs), {"top": top, "left": left}


# -- pandas ---------------------------------------------------------------------------


def test_a_dataframe_has_one_row_per_request_with_labels_named_by_their_axes(foxes):
    frame = foxes.to_pandas()
    assert len(frame) == 8
    assert list(frame.columns[:3]) == ["quality (row)", "fox replaced by", "repeat"]  # quality also has its own column
    assert frame.attrs["axes"] == {"page": None, "row": "quality (row)", "column": "fox replaced by"}
    assert list(frame["quality (row)"].cat.categories) == ["low", "high"]
    assert list(frame["fox replaced by"].cat.categories) == ["fox", "owl"]
    assert frame["status"].dtype == "category" and set(frame["status"]) == {"done"}
    owl = frame[frame["fox replaced by"] == "owl"]
    assert set(owl["prompt"]) == {"a owl"} and set(frame["size"]) == {"1024x1024"}


def test_every_axis_has_its_label_column_page_first(grid_kwargs):
    sizes = {"size": ["1024x1024", "1536x1024"]}
    grid = compare("a fox", pages=sizes, rows=prompts(["the fox", "the hare"]), cols=replace("the", ["the", "one"]), run=False,
                   **grid_kwargs)  # fmt: skip
    frame = grid.to_pandas()
    assert list(frame.columns[:3]) == ["size (page)", "prompt (row)", "the replaced by"]
    assert frame.attrs["axes"] == {"page": "size (page)", "row": "prompt (row)", "column": "the replaced by"}
    last = frame.iloc[-1]
    assert (last["size (page)"], last["prompt (row)"], last["the replaced by"]) == ("1536x1024", "the hare", "one")
    assert (last["size"], last["prompt"]) == ("1536x1024", "one hare")  # the request as sent, beside its labels


def test_each_row_names_its_result_request_latency_and_cost(foxes):
    frame = foxes.to_pandas()
    for (cell, slot), (_, row) in zip(foxes.slots(), frame.iterrows(), strict=True):
        assert row["result_id"] == slot.result.id and row["request_id"] == slot.result.request_id
        assert row["path"] == str(slot.result.path) and slot.result.path.is_file()
        assert row["repeat"] == slot.repeat
    assert frame["latency_s"].dtype == np.float64 and (frame["latency_s"] > 0).all()
    assert frame.groupby("quality", observed=True)["cost"].sum().to_dict() == pytest.approx({"low": 0.04, "high": 0.68})


def test_blind_ratings_show_as_each_results_wins_losses_and_ties(foxes):
    low, high = foxes.cell(0, 0).results[0], foxes.cell(1, 1).results[1]
    foxes.rate(low, high, "b")
    foxes.rate(high, low, "tie")
    frame = foxes.to_pandas().set_index("result_id")
    assert frame.loc[high.id, ["wins", "losses", "ties"]].tolist() == [1, 0, 1]
    assert frame.loc[low.id, ["wins", "losses", "ties"]].tolist() == [0, 1, 1]
    assert frame[["wins", "losses", "ties"]].to_numpy().sum() == 4 and frame["wins"].dtype == np.int64


def test_requests_not_sent_yet_have_missing_values_not_zeros(grid_kwargs):
    frame = compare("a fox", cols={"quality": ["low", "high"]}, run=False, **grid_kwargs).to_pandas()
    assert list(frame["status"]) == ["pending", "pending"]
    assert frame["latency_s"].isna().all() and frame["cost"].isna().all() and frame["output_compression"].isna().all()
    assert frame["path"].isna().all() and frame["result_id"].isna().all()


def test_a_blocked_request_keeps_its_error(grid_kwargs):
    frame = compare("a fox", cols=prompts(["a fox", "a blockme fox"]), **grid_kwargs).to_pandas()
    assert list(frame["status"]) == ["done", "blocked"]
    assert frame["error"].iloc[0] is None and "moderation" in frame["error"].iloc[1].lower()
    assert frame["prompt (column)"].tolist() == ["a fox", "a blockme fox"]  # a prompts axis: the prompt has its own column


def test_an_edit_grid_carries_the_change_inside_and_outside_each_mask(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(leak=0.4)
    grid, _ = _edit_grid(grid_kwargs)
    frame = grid.to_pandas()
    assert frame["mask (column)"].tolist() == ["top", "left"] and set(frame["endpoint"]) == {"edits"}  # "mask": the image
    assert (frame["change_inside"] > 0.5).all() and ((0 < frame["change_outside"]) & (frame["change_outside"] < 0.5)).all()


# -- datasets -------------------------------------------------------------------------


def test_a_dataset_saved_to_disk_loads_back_with_the_same_images_and_rows(foxes, tmp_path):
    dataset = foxes.to_dataset()
    dataset.save_to_disk(tmp_path / "foxes")
    loaded = datasets.load_from_disk(tmp_path / "foxes")
    assert len(loaded) == 8
    for (cell, slot), row in zip(foxes.slots(), loaded, strict=True):
        assert np.array_equal(_pixels(row["result"]), _pixels(Image.open(slot.result.path)))
        assert row["sources"] == [] and row["mask"] is None  # a generation has neither
        assert row["result_id"] == slot.result.id and row["fox replaced by"] == cell.labels[2]
    expected = foxes.to_pandas()
    scalars = loaded.remove_columns(["result", "sources", "mask"]).to_pandas()
    assert scalars["request_id"].tolist() == expected["request_id"].tolist()
    assert scalars["latency_s"].tolist() == pytest.approx(expected["latency_s"].tolist())


def test_a_dataset_written_to_parquet_loads_back_with_the_sources_and_masks_as_sent(grid_kwargs, tmp_path):
    grid, regions = _edit_grid(grid_kwargs)
    grid.to_dataset().to_parquet(tmp_path / "edits.parquet")
    loaded = datasets.Dataset.from_parquet(str(tmp_path / "edits.parquet"), cache_dir=str(tmp_path / "cache"))
    source = np.asarray(gradient(1024, 1024))
    for (cell, slot), row in zip(grid.slots(), loaded, strict=True):
        assert np.array_equal(_pixels(row["result"]), _pixels(slot.result.image))
        (sent,) = row["sources"]
        assert np.array_equal(np.asarray(sent.convert("RGB")), source)
        alpha = np.asarray(row["mask"])[..., 3]
        assert np.array_equal(alpha == 0, regions[row["mask (column)"]])  # alpha 0: where the model may edit
        assert row["change_inside"] == pytest.approx(slot.result.annotations["mask_change"]["changed_inside"])


def test_unfinished_requests_are_rows_without_a_result_image(grid_kwargs, tmp_path):
    grid = compare("a fox", cols=prompts(["a fox", "a blockme fox", "a hare"]), run=False, **grid_kwargs)
    grid.retry(0, 0)  # only the first is sent
    grid.retry(0, 1)  # refused by moderation
    dataset = grid.to_dataset()
    dataset.save_to_disk(tmp_path / "partial")
    loaded = datasets.load_from_disk(tmp_path / "partial")
    assert list(loaded["status"]) == ["done", "blocked", "pending"]
    results = list(loaded["result"])
    assert results[0] is not None and results[1] is None and results[2] is None
    assert list(loaded["path"])[1:] == [None, None] and list(loaded["latency_s"])[2] is None  # Arrow's null
    assert math.isnan(loaded.remove_columns(["result", "sources", "mask"]).to_pandas()["latency_s"][2])


def test_the_dataset_is_read_from_an_arrow_file_not_from_pictures_in_memory(foxes):
    dataset = foxes.to_dataset()
    assert dataset.cache_files and all(f["filename"].endswith(".arrow") for f in dataset.cache_files)
    assert str(foxes.store.root) in dataset.cache_files[0]["filename"]  # kept with the run, by default
    assert not any(slot.result.loaded for _, slot in foxes.slots())  # the grid's results were not decoded or held


def test_a_rating_given_later_is_in_the_next_dataset(foxes):
    first = foxes.to_dataset()
    foxes.rate(foxes.cell(0, 0).results[0], foxes.cell(0, 1).results[0], "a")
    second = foxes.to_dataset()
    assert sum(first["wins"]) == 0 and sum(second["wins"]) == 1  # not an old cached copy


def test_a_batch_size_that_is_not_a_positive_count_is_refused_by_name(foxes):
    with pytest.raises(ValidationError) as caught:
        foxes.to_dataset(writer_batch_size=0)
    assert [(v.field, v.rule) for v in caught.value.violations] == [("writer_batch_size", "range")]


def test_neither_export_holds_the_api_key(foxes, grid_kwargs, tmp_path):
    key = grid_kwargs["api_key"]
    foxes.to_dataset().to_parquet(tmp_path / "foxes.parquet")
    assert key.encode() not in (tmp_path / "foxes.parquet").read_bytes()
    assert key not in foxes.to_pandas().to_csv() and key not in repr(foxes.to_pandas().attrs)


# -- the optional extra -----------------------------------------------------------------


def test_importing_the_package_and_making_a_grid_loads_neither_pandas_nor_datasets(anyfast_simulator, tmp_path):
    sim = anyfast_simulator
    found = run_fresh(
        "import json, sys\n"
        "import anyfast_widget\n"
        "from anyfast_widget import compare\n"
        f"grid = compare('a fox', cols={{'quality': ['low', 'high']}}, api_key={sim.api_key!r}, base_url={sim.base_url!r},\n"
        "               run_dir='runs', progress=False)\n"
        "grid.to_records(); grid.win_rates(); grid.scores(); grid.save_csv('grid.csv')\n"
        "print(json.dumps([name for name in ('pandas', 'datasets', 'pyarrow') if name in sys.modules]))\n",
        cwd=tmp_path,
    )
    assert found == []


@pytest.mark.parametrize(("missing", "method"), [("pandas", "to_pandas"), ("datasets", "to_dataset")])
def test_without_the_extra_the_error_says_what_to_install(anyfast_simulator, tmp_path, missing, method):
    sim = anyfast_simulator
    found = run_fresh(
        "import json, sys\n"
        f"sys.modules[{missing!r}] = None  # as if it were not installed: importing it raises ImportError\n"
        "from anyfast_widget import compare\n"
        f"grid = compare('a fox', api_key={sim.api_key!r}, base_url={sim.base_url!r}, run_dir='runs', run=False)\n"
        "try:\n"
        f"    grid.{method}()\n"
        "except ImportError as error:\n"
        "    print(json.dumps(str(error)))\n",
        cwd=tmp_path,
    )
    assert found == f"Grid.{method}() needs {missing}, which is not installed here: pip install 'anyfast-widget[research]'"
