"""A studio without a key says so before any run and offers the built-in stand-in; one with a key never falls back to it."""

from __future__ import annotations

import pytest

from anyfast_widget import ImageStudio


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)
    monkeypatch.delenv("ANYFAST_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


def test_without_a_key_the_widget_says_so_at_once_with_the_fix(no_key, run_dir):
    studio = ImageStudio("a lighthouse", run_dir=run_dir)
    assert studio.key_missing and not studio.offline
    assert studio.notice["kind"] == "warning" and studio.notice["title"] == "No API key"
    assert "ANYFAST_API_KEY" in studio.notice["hint"] and "offline=True" in studio.notice["hint"]
    assert "No API key" in studio.run_blocked
    studio.close()


def test_try_offline_runs_on_the_built_in_stand_in(no_key, run_dir):
    studio = ImageStudio("a lighthouse", run_dir=run_dir)
    studio._handle_custom_msg({"type": "go_offline"}, [])
    assert studio.offline and not studio.key_missing and studio.notice == {} and studio.run_blocked == ""
    (result,) = studio.run()
    assert result.path.is_file() and result.size == (1024, 1024)
    studio.close()


def test_offline_true_is_the_same_from_python(no_key, run_dir):
    studio = ImageStudio("a lighthouse", run_dir=run_dir, offline=True)
    assert studio.offline and studio.notice == {}
    (result,) = studio.run()
    assert result.path.is_file()
    studio.close()
    with pytest.raises(TypeError, match="offline"):
        ImageStudio(api_key="sk-real", offline=True)


def test_a_studio_with_a_key_never_falls_back_to_the_stand_in(monkeypatch, run_dir):
    monkeypatch.setenv("ANYFAST_API_KEY", "sk-wrong-but-set")
    monkeypatch.setenv("ANYFAST_BASE_URL", "http://127.0.0.1:9")
    studio = ImageStudio("a lighthouse", run_dir=run_dir)
    assert not studio.key_missing and not studio.offline and studio.notice == {}
    studio._handle_custom_msg({"type": "go_offline"}, [])
    assert not studio.offline and studio.notice["kind"] == "error" and "never to the stand-in" in studio.notice["message"]
    studio.close()
