"""The app's persistent settings and query history, stored with QSettings (one INI file per user)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QSettings, QStandardPaths

from soundsift.audio import BIT_DEPTHS, WRITE_FORMATS
from soundsift.core.store import DEFAULT_MODEL
from soundsift.engines import ENGINES
from soundsift.separation import MODES

DEVICES = ("auto", "cpu", "cuda")
HISTORY_KEY = "history/queries"
HISTORY_LIMIT = 100


def default_output_dir() -> str:
    """``~/Music/soundsift`` (or the platform's equivalent): where stems go unless the user says otherwise."""
    music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation) or str(Path.home())
    return str(Path(music) / "soundsift")


@dataclass(frozen=True)
class AppSettings:
    """Everything the user can set in the settings dialog, plus the last extract/remove choice."""

    model: str = DEFAULT_MODEL
    engine: str = "auto"
    device: str = "auto"
    output_dir: str = dataclasses.field(default_factory=default_output_dir)
    output_format: str = "wav"
    bit_depth: str = "24"
    include_rest: bool = True
    mode: str = "extract"

    def is_valid(self) -> bool:
        """True when every choice is one the app offers (a hand-edited INI file may hold anything)."""
        return (
            bool(self.model.strip()) and self.engine in ENGINES and self.device in DEVICES
            and bool(self.output_dir.strip()) and self.output_format in WRITE_FORMATS
            and self.bit_depth in BIT_DEPTHS and self.mode in MODES
            and not (self.output_format == "flac" and self.bit_depth == "32f")
        )


def open_store() -> QSettings:
    """The user's settings file; tests redirect it with ``QSettings.setPath``."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "soundsift", "soundsift-gui")


def load_settings(store: QSettings) -> AppSettings:
    """Read settings, falling back to the default for any field that is missing or not a valid choice."""
    defaults = AppSettings()
    values: dict[str, object] = {}
    for field in dataclasses.fields(AppSettings):
        default = getattr(defaults, field.name)
        raw = store.value(f"settings/{field.name}", default)
        values[field.name] = _as_bool(raw, default) if isinstance(default, bool) else str(raw)
    settings = AppSettings(**values)  # type: ignore[arg-type]
    if settings.is_valid():
        return settings
    for name, value in values.items():
        candidate = dataclasses.replace(defaults, **{name: value})
        if candidate.is_valid():
            defaults = candidate
    return defaults


def save_settings(store: QSettings, settings: AppSettings) -> None:
    """Write every field and flush to disk."""
    for field in dataclasses.fields(AppSettings):
        store.setValue(f"settings/{field.name}", getattr(settings, field.name))
    store.sync()


def load_history(store: QSettings) -> list[str]:
    """Queries the user ran before, most recent first."""
    raw = store.value(HISTORY_KEY, [])
    items = [raw] if isinstance(raw, str) else list(raw or [])
    return [str(q) for q in items if str(q).strip()]


def remember_queries(store: QSettings, queries: list[str]) -> list[str]:
    """Put ``queries`` at the front of the history (no duplicates, bounded length); returns the new history."""
    history = list(dict.fromkeys([*queries, *load_history(store)]))[:HISTORY_LIMIT]
    store.setValue(HISTORY_KEY, history)
    store.sync()
    return history


def _as_bool(raw: object, default: bool) -> bool:
    """QSettings' INI backend returns booleans as the strings 'true'/'false'."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    return default
