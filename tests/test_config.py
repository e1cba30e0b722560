"""Settings: environment, settings file, precedence and errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from interviewer.config import Settings
from interviewer.errors import SettingsError


def test_defaults_are_offline(tmp_path: Path) -> None:
    s = Settings()
    assert s.mode == "offline"
    assert s.embeddings == "minilm"
    assert s.data_dir == tmp_path / "data"  # from the test's INTERVIEWER_DATA_DIR
    assert s.index_dir == tmp_path / "data" / "index"


def test_default_data_dir_is_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERVIEWER_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere/share")
    assert Settings().data_dir == Path("/somewhere/share/interviewer")


def test_settings_file_is_read_and_env_wins(
    settings_toml: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_toml('model = "openai:gpt-4o-mini"\ncollection = "fromfile"\napi_key = "sk-secret"\n')
    monkeypatch.setenv("INTERVIEWER_COLLECTION", "fromenv")
    s = Settings()
    assert s.model == "openai:gpt-4o-mini"
    assert s.collection == "fromenv"
    assert s.api_key is not None and s.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(s)


def test_unknown_key_in_settings_file_is_an_error(settings_toml: Callable[[str], Path]) -> None:
    settings_toml('modle = "typo"\n')
    with pytest.raises(SettingsError, match="modle"):
        Settings()


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_EMBEDDINGS", "word2vec")
    with pytest.raises(SettingsError, match="embeddings"):
        Settings()


def test_a_settings_file_that_is_not_toml_is_named_with_its_line(
    settings_toml: Callable[[str], Path],
) -> None:
    settings_toml('data_dir = "/tmp/x"\nmodel = "unterminated\n')
    with pytest.raises(SettingsError, match=r"settings\.toml cannot be read.*line 2"):
        Settings()


def test_a_bad_value_is_named_but_never_echoed(settings_toml: Callable[[str], Path]) -> None:
    settings_toml("api_key = 12345678901234567890\n")
    with pytest.raises(SettingsError, match="api_key") as caught:
        Settings()
    assert "12345678901234567890" not in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "env"),
    [
        ('api_key = ["sk-never-shown"]\n', {}),  # a wrong type for the key itself
        ('api_key = { value = "sk-never-shown" }\n', {}),
        ('llm_timeout = "sk-never-shown"\n', {}),  # a key pasted into the wrong setting
        ("", {"INTERVIEWER_LLM_MAX_RETRIES": "sk-never-shown"}),
        ("", {"INTERVIEWER_API_KEY": "sk-fine", "INTERVIEWER_COLLECTION": "sk-never-shown!"}),
    ],
)
def test_a_settings_error_never_echoes_a_key_not_even_in_its_traceback(
    settings_toml: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    env: dict[str, str],
) -> None:
    import traceback

    settings_toml(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    shown = "".join(traceback.format_exception(caught.value))  # what a log would hold
    assert "Invalid settings" in shown
    assert "sk-never-shown" not in shown
