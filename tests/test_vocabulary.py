"""What a model knows: vocabulary files, the trainer writing them, and the commands that show them."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from soundsift.cli import main
from soundsift.core.store import BUNDLED_DIR
from soundsift.errors import CheckpointError
from soundsift.training.data.manifest import Entry
from soundsift.training.data.vocabulary import VOCABULARY
from soundsift.training.model_vocabulary import vocabulary_from_entries
from soundsift.vocabulary import VOCABULARY_FILE, Corpus, SoundClass, Vocabulary, read_vocabulary, write_vocabulary
from tests.conftest import test_signal, write_test_file

DEFAULT = BUNDLED_DIR / "default"


def _entry(label: str, caption: str, category: str = "sfx", seconds: float = 1800.0) -> Entry:
    return Entry(path=f"{label}.wav", duration=seconds, sample_rate=16000, labels=(label,), caption=caption,
                 category=category, split="train", group=label, source="synthetic", licence="CC0")


def test_vocabulary_file_round_trips_and_missing_one_is_none(tmp_path: Path) -> None:
    vocabulary = Vocabulary((SoundClass("rain", "sfx", ("rain falls",)),), (Corpus("sfx", 1, 0.5, "synthetic"),),
                            "rain", 0.5, {"queries": "q.csv"})
    write_vocabulary(tmp_path, vocabulary)
    assert read_vocabulary(tmp_path) == vocabulary
    assert read_vocabulary(tmp_path / "elsewhere") is None


@pytest.mark.parametrize("text", ["{", "[]", '{"classes": []}', '{"classes": [{"label": "x"}]}'])
def test_malformed_vocabulary_is_one_clear_error(tmp_path: Path, text: str) -> None:
    (tmp_path / VOCABULARY_FILE).write_text(text)
    with pytest.raises(CheckpointError, match=VOCABULARY_FILE):
        read_vocabulary(tmp_path)


def test_a_written_vocabulary_gets_the_mode_of_the_model_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    path = write_vocabulary(tmp_path, Vocabulary((SoundClass("rain", "sfx", ("rain falls",)),)))
    assert path.stat().st_mode & 0o777 == (tmp_path / "config.json").stat().st_mode & 0o777
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_vocabulary_from_training_entries_uses_caption_forms_and_counts_hours() -> None:
    entries = [_entry("rain", "heavy rain falls"), _entry("rain", "rain pours down"),
               _entry("kazoo", "a kazoo buzzes", "music"), _entry("kazoo", "a kazoo buzzes", "music"),
               _entry("kazoo", "kazoo", "music")]
    vocabulary = vocabulary_from_entries(entries)
    by_label = {c.label: c for c in vocabulary.classes}
    assert by_label["rain"].phrases == ("rain falls", "rain", "the sound of rain")  # how training queried it
    assert by_label["kazoo"].phrases == ("a kazoo buzzes",)  # not in the table: its corpus captions
    assert [(c.name, c.classes, c.train_hours) for c in vocabulary.corpora] == [("music", 1, 1.5), ("sfx", 1, 1.0)]


def test_bundled_default_model_carries_every_class_it_was_trained_on() -> None:
    vocabulary = read_vocabulary(DEFAULT)
    assert vocabulary is not None and {c.label for c in vocabulary.classes} >= set(VOCABULARY)
    labels = [c.label for c in vocabulary.classes]
    assert len(labels) == len(set(labels)) == 152 == sum(c.classes for c in vocabulary.corpora)
    assert vocabulary.threshold is not None
    assert [c.label for c in vocabulary.search("violin")] == ["violin"]


def test_trainer_writes_the_vocabulary_beside_each_saved_model(tmp_path: Path) -> None:
    from soundsift.training.recipe import load_recipe
    from soundsift.training.trainer import train
    from tests.train_corpus import make_corpus

    make_corpus(tmp_path / "corpus", clips_per_class=2, seconds=0.5)
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "t"\nregime = "mix_separate"\n[model.network]\nbase_channels = 4\nmax_channels = 8\n'
                      'depth = 2\nfusion_maps = 4\n[model.encoder]\nname = "ngram"\noptions = { dim = 16 }\n'
                      '[data]\ncorpora = ["corpus"]\nsources_per_part = 1\nparts = 2\nseconds = 0.5\n'
                      '[optim]\nsteps = 1\nbatch_size = 2\nkeep_every = 1\n')
    train(load_recipe(recipe), tmp_path / "run", progress_bar=False)
    vocabulary = read_vocabulary(tmp_path / "run" / "snapshots" / "step-1")
    assert vocabulary is not None and len(vocabulary.classes) >= 2 and vocabulary.corpora[0].name == "music"


def test_models_info_lists_the_sounds_and_says_when_none_are_recorded(tiny_model: Path, capsys) -> None:
    assert main(["models", "info", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert "sounds (152 of 152):" in out and "woman speaking" in out and "sfx (85 classes, 11.26 h)" in out
    assert main(["models", "info", str(tiny_model)]) == 0
    assert "vocabulary: none recorded" in capsys.readouterr().out


def test_vocabulary_command_searches(tiny_model: Path, capsys) -> None:
    assert main(["vocabulary", "speaking", "--model", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert "man speaking" in out and "woman speaking" in out and "violin" not in out
    assert main(["vocabulary", "kazoo", "--model", str(DEFAULT)]) == 1
    assert "no sound matches 'kazoo'" in capsys.readouterr().out
    assert main(["vocabulary", "--model", str(tiny_model)]) == 0
    assert "none recorded" in capsys.readouterr().out


def test_models_info_survives_a_broken_vocabulary(tmp_path: Path, tiny_model: Path, capsys) -> None:
    model = tmp_path / "broken"
    shutil.copytree(tiny_model, model)
    (model / VOCABULARY_FILE).write_text(json.dumps({"classes": "nope"}))
    assert main(["models", "info", str(model)]) == 0
    assert "vocabulary: unreadable" in capsys.readouterr().out


def test_separate_warns_about_unknown_queries_only_and_still_writes_them(tmp_path: Path, capsys) -> None:
    song = write_test_file(tmp_path / "song.wav", test_signal(16000, 1, 1.0), 16000)
    queries = ["violin", "a person talking", "qwertyuiop", "a ukulele"]
    args = ["separate", str(song), "-o", str(tmp_path / "out"), "--model", str(DEFAULT), "--engine", "onnx", "--quiet"]
    assert main(args + [a for q in queries for a in ("-q", q)]) == 0
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 2
    assert warnings[0].startswith("soundsift: warning: 'qwertyuiop' is not a sound this model knows well; nearest: ")
    assert warnings[1].startswith("soundsift: warning: 'a ukulele' is not a sound this model knows well; nearest: ")
    assert {p.stem for p in (tmp_path / "out" / "song").iterdir()} >= {"qwertyuiop", "a-ukulele", "violin"}


# Example queries in the user docs: `-q`/`--query` arguments, TextSeparate/StemChains/separate() calls,
# TOML `query =` / `queries = [...]` / `stems."..."`, and the app's `type queries (`a; b`)`.
QUERY_PATTERNS = (
    r"""(?:-q|--query)[ =](?:"([^"]+)"|'([^']+)'|([^\s"'`\\]+))""",
    r"""TextSeparate\(\s*"([^"]+)\"""",
    r"""StemChains\(\s*\{\s*"([^"]+)\"""",
    r"""\.separate\([^)\n]*?\[([^\]]*)\]""",
    r"""stems\.(?:"([^"]+)"|([A-Za-z][\w-]*))""",
    r"""(?:^|\.)query\s*=\s*"([^"]+)\"""",
    r"""queries\s*=\s*\[([^\]]*)\]""",
    r"""type queries \(`([^`]+)`\)""",
    r"""^\s*`([a-z ]+; [a-z ;]+)`""",
    r"""(?:description —|text \()\s*`([^`]+)`, `([^`]+)`""",
)
# Queries the docs themselves present as unknown to the default model.
MARKED_UNKNOWN = {("docs/presets.md", "a dog barking")}  # "A dog is not among them"
ROOT = Path(__file__).resolve().parent.parent


def _split(found: str) -> list[str]:
    """A matched group: one query, a list of quoted ones, or the app's `a; b`."""
    quoted = re.findall(r'"([^"]+)"', found)
    if quoted:
        return quoted
    return [part.strip() for part in found.split(";")] if ";" in found else [found]


def doc_queries() -> list[tuple[str, str]]:
    """``(file, query)`` for every example query of README.md and docs/*.md (results excepted: a lab record)."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name == "results.md":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"--model\s+(?!MODEL\b|default\b)\S+", line):
                continue  # an example for another model (a fine-tuned one)
            for pattern in QUERY_PATTERNS:
                for match in re.finditer(pattern, line):
                    found += [(path.relative_to(ROOT).as_posix(), q) for g in match.groups() if g for q in _split(g)]
    return [(where, q) for where, q in found if not q.isupper() and not q.startswith("-")]  # placeholders, options


def preset_queries() -> list[tuple[str, str]]:
    """``(preset, query)`` for every text query of every built-in preset."""
    from soundsift.plugin_host import StemChains, TextSeparate, walk
    from soundsift.presets import builtin_presets, load_preset

    found = []
    for name in builtin_presets():
        for stage in walk(load_preset(name)):
            queries = list(stage.stems) if isinstance(stage, StemChains) else (
                [stage.query] if isinstance(stage, TextSeparate) else [])
            found += [(name, q) for q in queries if isinstance(q, str)]
    return found


def test_docs_and_presets_only_use_queries_the_default_model_knows() -> None:
    from soundsift.engines import load_separator
    docs, presets = doc_queries(), preset_queries()
    from soundsift.presets import builtin_presets

    assert {"violin", "a man speaking", "rain"} <= {q for _, q in docs}
    assert {name for name, _ in presets} == set(builtin_presets())  # every preset has text queries
    assert set(MARKED_UNKNOWN) <= set(docs)
    separator = load_separator(DEFAULT, "onnx", "cpu")
    unknown = []
    for where, query in dict.fromkeys(docs + presets):
        confidence = separator.query_confidence(query)
        if (where, query) not in MARKED_UNKNOWN and not (confidence and confidence.known):
            unknown.append(f"{where}: {query!r}")
    assert not unknown, unknown


def test_an_onnx_export_to_a_new_directory_keeps_the_vocabulary(tmp_path: Path) -> None:
    from soundsift.core import EncoderSpec, ModelConfig
    from soundsift.export_onnx import export_onnx
    from soundsift.model import init_model, save_checkpoint
    from tests.conftest import TINY

    net, enc = init_model(ModelConfig(network=TINY, encoder=EncoderSpec(name="compact")), seed=0)
    source = save_checkpoint(tmp_path / "source", net, enc)
    vocabulary = Vocabulary((SoundClass("rain", "sfx", ("rain falls",)),))
    write_vocabulary(source, vocabulary)
    assert read_vocabulary(export_onnx(source, tmp_path / "exported")) == vocabulary


def test_a_finetuned_vocabulary_adds_the_library_clauses_and_keeps_the_base_threshold() -> None:
    from soundsift.training.model_vocabulary import finetuned_vocabulary

    base = Vocabulary((SoundClass("rain", "sfx", ("rain falls",)),), (Corpus("sfx", 1, 0.5, "synthetic"),), "rain",
                      0.5, {"queries": "q.csv"})
    clips = [("a kettle whistles while rain falls", 1800.0), ("a kettle whistles", 1800.0), ("rain", 3600.0)]
    tuned = finetuned_vocabulary(base, clips, "field")
    assert [c.label for c in tuned.classes] == ["rain", "a kettle whistles"]  # known phrasings are not repeated
    assert tuned.threshold == 0.5 and tuned.corpora[-1] == Corpus("library", 3, 2.0, "recordings in field, captioned")
    alone = finetuned_vocabulary(None, clips, "field")
    assert alone.threshold is None and len(alone.classes) == 3


def test_process_warns_about_the_unknown_queries_of_its_preset(tmp_path: Path, tiny_model: Path, capsys) -> None:
    song = write_test_file(tmp_path / "song.wav", test_signal(16000, 1, 0.5), 16000)
    preset = tmp_path / "mine.toml"
    preset.write_text('format = 1\nmode = "extract"\nqueries = ["a ukulele", "rain"]\n')
    args = ["process", str(song), "--preset", str(preset), "--quiet", "-o"]
    assert main([*args, str(tmp_path / "a.wav"), "--model", str(DEFAULT)]) == 0
    (warning,) = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("soundsift: warning: 'a ukulele' is not a sound this model knows well; nearest: ")
    assert main([*args, str(tmp_path / "b.wav"), "--model", str(tiny_model)]) == 0  # no vocabulary: no warning
    assert capsys.readouterr().err == "" and (tmp_path / "a.wav").is_file() and (tmp_path / "b.wav").is_file()
