"""A run directory is made when the first result is saved, not when a store, client or studio is built."""

from __future__ import annotations

import asyncio

import pytest

from anyfast_widget import AsyncClient, Client, ImageStudio, RunStore, StorageError

ENVIRONMENT = ("ANYFAST_API_KEY", "ANYFAST_BASE_URL", "ANYFAST_RUN_DIR")


@pytest.fixture
def fresh_folder(tmp_path, monkeypatch):
    """An empty working directory and no ANYFAST_* settings: the defaults apply (./anyfast-runs)."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_opening_a_store_that_does_not_exist_makes_nothing_and_shows_an_empty_history(tmp_path):
    root = tmp_path / "not" / "there" / "runs"
    store = RunStore(root)
    assert len(store) == 0 and list(store) == [] and store.latest() is None
    assert store.find(prompt="anything") == [] and store.problems() == []
    with pytest.raises(KeyError):
        store.get("20261123T101500-ab12cd34")
    assert store.reindex() == 0 and store.repair() == []
    assert not store.read_only and store.root == root
    store.close()
    assert list(tmp_path.iterdir()) == [], "nothing was made"


def test_building_a_studio_or_a_client_with_the_default_run_dir_makes_no_folder(anyfast_simulator, fresh_folder):
    studio = ImageStudio()
    try:
        assert studio.gallery == [] and studio.store.root == fresh_folder / "anyfast-runs"
    finally:
        studio.close()
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url):
        pass
    assert list(fresh_folder.iterdir()) == []


def test_the_first_saved_result_makes_the_run_directory(anyfast_simulator, fresh_folder):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url) as client:
        assert not (fresh_folder / "anyfast-runs").exists()
        result = client.generate("a lighthouse", quality="low")
        assert len(client.store) == 1
    runs = fresh_folder / "anyfast-runs"
    assert (runs / "index.sqlite").is_file() and result.path.is_file() and result.path.is_relative_to(runs)
    assert [r.prompt for r in RunStore(runs)] == ["a lighthouse"]


def test_results_saved_at_once_into_a_new_run_directory_are_all_kept(anyfast_simulator, run_dir):
    async def four() -> list[str]:
        async with AsyncClient(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
            results = await asyncio.gather(*(client.generate(f"fox {i}", quality="low") for i in range(4)))
            return [r.id for r in results]

    ids = asyncio.run(four())
    assert sorted(r.id for r in RunStore(run_dir)) == sorted(ids)


def test_a_store_opened_before_another_process_makes_the_directory_sees_its_results(anyfast_simulator, run_dir):
    reader = RunStore(run_dir)
    assert len(reader) == 0
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=RunStore(run_dir)) as writer:
        saved = writer.generate("made elsewhere", quality="low")
    assert len(reader) == 1 and reader.latest().id == saved.id
    assert [e["prompt"] for e in _gallery_of(reader)] == ["made elsewhere"]


def _gallery_of(store: RunStore) -> list[dict]:
    studio = ImageStudio(run_dir=store)
    try:
        return list(studio.gallery)
    finally:
        studio.close()


def test_a_file_where_the_run_directory_must_go_is_named_when_the_store_is_opened(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    with pytest.raises(StorageError) as raised:
        RunStore(blocker / "runs")
    assert raised.value.reason == "not_a_folder" and "a file is in the way" in raised.value.message
