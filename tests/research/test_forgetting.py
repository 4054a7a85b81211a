"""``python -m research forgetting``: the library, the real test sets less the library's packages, resumable
runs per protection setting and the table."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from research import forgetting
from research.cli import main
from research.forgetting import Measurement, measure, parse_setting, real_testset
from research.forgetting_library import LibraryRecipe, build_library
from soundsift.audio import write_audio
from soundsift.errors import SoundsiftError
from soundsift.training.data.manifest import Entry, Stem, write_manifest
from tests.finetune_library import make_compact_base, make_library

RATE = 16000
PACKAGES = ("fillets-ng-data-nl", "wesnoth-1.16-data")
# (domain, sources) of each mixture of the tiny real test set
MIXTURES = [("sfx pairs", "0ad-data; openarena-data"), ("sfx pairs", "wesnoth-1.16-data; 0ad-data"),
            ("sfx pairs", "openarena-data; 0ad-data"), ("speech over sfx", "0ad-data; fillets-ng-data-nl"),
            ("speech over sfx", "fillets-ng-data; 0ad-data")]


def make_realtest(root: Path) -> Path:
    """Mixtures of two seeded tones each, with the domains and sources of ``MIXTURES``."""
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    entries = []
    for i, (domain, source) in enumerate(MIXTURES):
        stems = []
        for j, (label, freq) in enumerate((("chicken", 300 + 50 * i), ("splash", 2000 + 100 * i))):
            path = f"mixtures/mix-{i}/{j}-{label}.wav"
            wave = 0.2 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
            write_audio(root / path, wave[None].astype(np.float32), RATE, "16")
            stems.append(Stem(path=path, labels=(label,), caption=f"a {label}"))
        entries.append(Entry(path=f"mixtures/mix-{i}/mix.wav", duration=1.0, sample_rate=RATE,
                             labels=("chicken", "splash"), caption="a mixture", category="mixture", split="test",
                             group=f"mix-{i}", source=source, licence="CC0", stems=tuple(stems),
                             meta={"domain": domain}))
    write_manifest(root / "manifest.jsonl", entries)
    return root


@pytest.fixture(scope="module")
def realtest(tmp_path_factory):
    return make_realtest(tmp_path_factory.mktemp("realtest"))


def test_real_testset_leaves_out_every_mixture_with_a_library_package(realtest):
    names = [m.name for m in real_testset(realtest, "sfx pairs", None, PACKAGES)]
    assert names == ["mixtures/mix-0/mix.wav", "mixtures/mix-2/mix.wav"]
    # "fillets-ng-data" is another package than "fillets-ng-data-nl": kept
    assert [m.name for m in real_testset(realtest, "speech over sfx", None, PACKAGES)] == ["mixtures/mix-4/mix.wav"]
    assert [m.name for m in real_testset(realtest, "sfx pairs", 2, PACKAGES)] == ["mixtures/mix-0/mix.wav"]
    assert len(real_testset(realtest, "sfx pairs", None, ())) == 3


def test_settings_are_protections_joined_by_plus():
    assert parse_setting("none") == ()
    assert parse_setting("distill+l2sp+replay") == ("distill", "l2sp", "replay")
    with pytest.raises(SoundsiftError, match="--protect"):
        parse_setting("distill+forget")


def test_measure_runs_each_setting_once_and_writes_the_table(tmp_path, realtest, monkeypatch):
    import torch

    torch.set_num_threads(1)
    base = make_compact_base(tmp_path / "base")
    library = make_library(tmp_path / "lib", per_kind=2)
    plan = Measurement(library=library, packages=PACKAGES, realtest=realtest, settings=((), ("l2sp",)),
                       out=tmp_path / "out", steps=2, limit=None, base=str(base), domains=("sfx pairs", "speech over sfx"),
                       finetune={"captions": "filenames", "batch_size": 2, "seconds": 1.0, "holdout": 0.5,
                                 "test_mixtures": 1, "validate_every": 2, "check_mixtures": 2})
    text = measure(plan, "python -m research forgetting --steps 2")
    assert (tmp_path / "out" / "table.md").read_text() == text
    lines = text.splitlines()
    assert lines[0].startswith("| `--protect` | held-out SDRi (base ")
    assert "sfx pairs (base " in lines[0] and ", 2 mix.)" in lines[0] and "speech over sfx (base " in lines[0]
    rows = [line for line in lines if line.startswith("| `")][1:]
    assert [row.split(" | ")[0] for row in rows] == ["| `none`", "| `l2sp`"]
    assert all(row.count(" dB") == 7 and row.endswith(" min |") for row in rows)
    assert "python -m research forgetting --steps 2" in text and "wesnoth-1.16-data" in text
    for name in ("base", "none", "l2sp"):
        report = json.loads((tmp_path / "out" / "eval" / name / "real-sfx-pairs.json").read_text())
        assert report["meta"]["mixtures"] == ["mixtures/mix-0/mix.wav", "mixtures/mix-2/mix.wav"]
        assert {s["mixture"] for s in report["scores"]} == set(report["meta"]["mixtures"])
    info = json.loads((tmp_path / "out" / "runs" / "l2sp" / "result.json").read_text())
    assert info["protect"] == ["l2sp"] and info["steps"] == 2 and info["check_mixtures"] == 2

    # a rerun fine-tunes and scores nothing again, and gives the same table
    def refuse(*args, **kwargs):
        raise AssertionError("ran again")

    monkeypatch.setattr("soundsift.training.finetune.run.finetune", refuse)
    monkeypatch.setattr("soundsift.separator.Separator.load", refuse)
    assert measure(plan, "python -m research forgetting --steps 2") == text


def test_table_gives_gains_and_changes_against_the_base_model(tmp_path):
    plan = Measurement(library=tmp_path / "lib", packages=PACKAGES, realtest=tmp_path, settings=((), ("distill",)),
                       out=tmp_path, steps=500, limit=100, domains=("sfx pairs", "instrument pairs", "speech over sfx"))
    result = {"heldout_sdri": 5.5, "base_heldout_sdri": -2.5, "check_sdri": 4.0, "base_check_sdri": 5.0,
              "check_change_db": -1.0, "wall_s": 600.0}
    base = {"sfx pairs": 3.0, "instrument pairs": 2.0, "speech over sfx": None}
    rows = [((), result, {"sfx pairs": 2.0, "instrument pairs": 1.0, "speech over sfx": None}),
            (("distill",), {**result, "resumed": True}, {"sfx pairs": 3.5, "instrument pairs": 2.0,
                                                          "speech over sfx": None})]
    lines = forgetting.format_table(plan, rows, base, {"sfx pairs": 94, "instrument pairs": 100, "speech over sfx": 0},
                                    "CMD").splitlines()
    assert lines[0] == ("| `--protect` | held-out SDRi (base -2.50 dB) | gain | known sounds (base 5.00 dB) | change "
                        "| sfx pairs (base 3.00 dB, 94 mix.) | instrument pairs (base 2.00 dB, 100 mix.) "
                        "| real test sets: mean change | wall time |")
    assert lines[2] == "| `none` | 5.50 dB | +8.00 dB | 4.00 dB | -1.00 dB | -1.00 dB | -1.00 dB | -1.00 dB | 10.0 min |"
    assert lines[3] == ("| `distill` | 5.50 dB | +8.00 dB | 4.00 dB | -1.00 dB | +0.50 dB | +0.00 dB | +0.25 dB "
                        "| 10.0 min (after a resume) |")
    assert "the first 100 mixtures of each domain less those with a source from fillets-ng-data-nl" in lines[5]


def test_a_missing_library_or_realtest_is_one_line(tmp_path, realtest, capsys):
    assert main(["forgetting", "--library", str(tmp_path / "nolib"), "--realtest", str(realtest),
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("research: error:") and str(tmp_path / "nolib") in err and err.count("\n") == 1
    (tmp_path / "lib").mkdir()
    assert main(["forgetting", "--library", str(tmp_path / "lib"), "--realtest", str(tmp_path / "none"),
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "none") in err and err.count("\n") == 1
    assert main(["forgetting"]) == 1
    assert "--library" in capsys.readouterr().err


def _sources(root: Path) -> tuple[Path, Path]:
    """A fake unpacked package with sounds and a realspeech corpus with clips of two packages."""
    debian = root / "debian"
    for i in range(5):
        path = debian / "wesnoth-1.16-data" / "usr" / "share" / "sounds" / f"s{i}.ogg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([i]))
    (debian / "wesnoth-1.16-data" / "usr" / "share" / "music.ogg").write_bytes(b"m")
    speech = root / "realspeech"
    (speech / "clips").mkdir(parents=True)
    rows = []
    for i in range(6):
        source = "fillets-ng-data-nl" if i % 3 else "fillets-ng-data-cs"
        (speech / "clips" / f"c{i}.wav").write_bytes(bytes([i]))
        rows.append(json.dumps({"path": f"clips/c{i}.wav", "source": source}))
    (speech / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    return debian, speech


def test_library_is_the_seeded_pick_of_both_packages(tmp_path):
    debian, speech = _sources(tmp_path)
    recipe = LibraryRecipe(debian=debian, realspeech=speech, sfx=3, voices=2)
    out = tmp_path / "lib"
    assert build_library(out, recipe)
    sounds = sorted((debian / "wesnoth-1.16-data").rglob("sounds/*.ogg"))
    random.Random(0).shuffle(sounds)
    assert sorted(p.name for p in (out / "sfx").iterdir()) == sorted(p.name for p in sounds[:3])
    clips = [f"c{i}" for i in range(6) if i % 3]
    random.Random(0).shuffle(clips)
    voices = sorted(p.name for p in (out / "voices").iterdir())
    assert voices == sorted([f"{c}.wav" for c in clips[:2]] + [f"{c}.txt" for c in clips[:2]])
    assert (out / "voices" / f"{clips[0]}.txt").read_text() == "a man speaking\n"
    assert not build_library(out, recipe)  # already there: left as it is
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_library_needs_enough_files(tmp_path, capsys):
    debian, speech = _sources(tmp_path)
    assert main(["forgetting", "library", "-o", str(tmp_path / "lib"), "--debian", str(debian),
                 "--realspeech", str(speech)]) == 1
    err = capsys.readouterr().err
    assert "wesnoth-1.16-data" in err and err.count("\n") == 1
    assert not (tmp_path / "lib").exists()
