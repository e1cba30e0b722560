"""Settings: one object, read from ``INTERVIEWER_*`` environment variables and a TOML file.

Precedence, highest first: arguments given in code, environment variables, the settings file,
defaults. The settings file is ``$INTERVIEWER_SETTINGS_FILE`` when set, else ``interviewer.toml``
in the working directory, else ``settings.toml`` in the per-user config directory.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_cache_path, user_config_path, user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from interviewer.errors import SettingsError

APP_NAME = "interviewer"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _check_toml(path: Path) -> None:
    """A settings file that is not valid TOML is named, with the line, before anything reads it."""
    try:
        tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(
            f"The settings file {path} cannot be read: {exc}. Fix it, or set "
            "INTERVIEWER_SETTINGS_FILE to another file."
        ) from exc


def _describe(exc: ValidationError) -> str:
    """Every problem as `field: message`, without the offending values."""
    path = settings_file()
    where = f"the settings file {path} or INTERVIEWER_* variables" if path else "INTERVIEWER_*"
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
    return f"Invalid settings (from {where}): {problems}"


def settings_file() -> Path | None:
    """The settings file in force, or None when there is none."""
    explicit = os.environ.get("INTERVIEWER_SETTINGS_FILE")
    if explicit:
        return Path(explicit).expanduser()
    for candidate in (
        Path.cwd() / "interviewer.toml",
        user_config_path(APP_NAME) / "settings.toml",
    ):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    """Everything that can be configured, with defaults that work offline."""

    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: user_data_path(APP_NAME),
        description="Holds the vector index and the session database.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: user_cache_path(APP_NAME),
        description="Derived files that can be rebuilt, such as the ONNX export of the model.",
    )
    corpus_dir: Path = Field(
        default=PROJECT_ROOT / "corpus", description="Root of corpus/<role>/<topic>.yaml."
    )
    chroma_url: str | None = Field(
        default=None,
        description="A Chroma server such as http://127.0.0.1:8000; embedded if unset.",
    )
    collection: str = Field(default="questions", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,40}$")
    embeddings: Literal["minilm", "openai"] = "minilm"
    openai_embedding_model: str = "text-embedding-3-small"
    model: str | None = Field(
        default=None, description="Chat model such as 'openai:gpt-4o-mini'; offline when unset."
    )
    base_url: str | None = Field(default=None, description="Any OpenAI-compatible endpoint.")
    api_key: SecretStr | None = None
    llm_timeout: float = Field(default=30.0, gt=0, description="Seconds per model call.")
    llm_max_retries: int = Field(default=2, ge=0, le=10, description="Retries with backoff.")
    packs_path: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders holding a team's own packs (one sub-folder per pack), besides "
        "the built-in prompts/; in the environment, separated like PATH.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL for sessions; SQLite in data_dir if unset.",
    )

    accounts: bool = Field(
        default=False,
        description="Sign-in for every page, with candidate, reviewer and admin roles; off: "
        "the single-user app, with nothing to set up.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a sign-in lasts, in hours."
    )
    sign_in_limit: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins allowed per email address in 15 minutes (four times as "
        "many per client address) before sign-in is refused for the rest of the window.",
    )
    open_registration: bool = Field(
        default=False,
        description="Anyone who reaches the app may create a candidate account; off: only "
        "through an interview link or an invitation.",
    )
    sso: bool = Field(
        default=False,
        description="Offer single sign-on through Streamlit's st.login (configure the "
        "provider in .streamlit/secrets.toml under [auth]).",
    )
    sso_provider: str | None = Field(
        default=None,
        description="The provider's name under [auth.<name>] in secrets.toml; unset: [auth].",
    )
    sso_registers: bool = Field(
        default=True,
        description="A person your identity provider signs in, with no account here yet, gets "
        "a candidate account; off: only invited people.",
    )
    client_address_header: str | None = Field(
        default=None,
        description="The header your reverse proxy puts the browser's address in (such as "
        "X-Forwarded-For or X-Real-IP), for the per-address sign-in limit; unset: the "
        "connection's address (a proxy on another machine would then count as one client).",
    )
    candidates_see_bank: bool = Field(
        default=True,
        description="With accounts on, candidates may browse the question bank (its key points "
        "and model answers); turn off when candidates take interviews that count.",
    )
    public_url: str | None = Field(
        default=None,
        description="The address candidates open, such as https://interviews.example.com, "
        "for links and invitations printed by the command line.",
    )

    @field_validator("packs_path", mode="before")
    @classmethod
    def _split_path(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
        return value

    @field_validator("data_dir", "cache_dir", "corpus_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the settings file; the file beats defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = settings_file()
        if path is not None:
            _check_toml(path)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def __init__(self, **values: Any) -> None:
        """Settings from code, environment and file; a bad value is a `SettingsError` that
        names the field and where settings come from, never echoing the value (it may be a
        key)."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # Not chained: pydantic's error holds the bad input, which may be the API key, and
            # a logged or printed traceback would show it.
            raise SettingsError(_describe(exc)) from None

    @property
    def index_dir(self) -> Path:
        """Where the embedded Chroma index lives."""
        return self.data_dir / "index"

    @property
    def mode(self) -> str:
        """'offline', or the configured chat model."""
        return self.model or "offline"
