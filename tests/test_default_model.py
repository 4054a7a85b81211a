"""The bundled default model, used as README.md says: no --model, the shipped example."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundsift.core.store import BUNDLED_DIR, resolve_model
from tests.test_cli import run_cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mix.flac"


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SOUNDSIFT_BUNDLED_MODELS")
    return BUNDLED_DIR / "default"


def test_the_default_name_finds_the_bundled_model(bundled: Path) -> None:
    assert resolve_model(None) == bundled
    assert (bundled / "config.json").is_file() and (bundled / "model.safetensors").is_file()


def test_readme_command_separates_the_shipped_example(bundled: Path, tmp_path: Path) -> None:
    result = run_cli("separate", EXAMPLE, "-q", "violin", "-q", "a man speaking", "-o", tmp_path / "separated")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "separated" / "mix"
    assert sorted(p.name for p in folder.glob("*.wav")) == ["a-man-speaking.wav", "rest.wav", "violin.wav"]
    mix, rate = soundfile.read(EXAMPLE, dtype="float32", always_2d=True)
    stems = [soundfile.read(folder / name, dtype="float32", always_2d=True) for name in sorted(p.name for p in folder.glob("*.wav"))]
    assert all(r == rate and s.shape == mix.shape for s, r in stems)
    np.testing.assert_allclose(sum(s for s, _ in stems), mix, atol=1e-4)
    violin, speech = stems[2][0], stems[0][0]
    assert np.sqrt(np.mean((violin - speech) ** 2)) > 1e-3  # the two queries give different stems
