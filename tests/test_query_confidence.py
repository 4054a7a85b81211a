"""Query confidence: the score of a text query against the model's vocabulary, on both engines."""
from __future__ import annotations

import pickle
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from soundsift.confidence import ConfidenceScorer, QueryConfidence, calibrate, error_rates, pool_token_states
from soundsift.core.store import BUNDLED_DIR
from soundsift.engines import load_separator
from soundsift.separator import Separator
from soundsift.vocabulary import SoundClass, Vocabulary, read_vocabulary, write_vocabulary

VOCAB = Vocabulary((SoundClass("rain", "sfx", ("rain falls", "the sound of rain")),
                    SoundClass("violin", "music", ("a violin plays",)),
                    SoundClass("man speaking", "speech", ("a man speaks",))), threshold=0.9)


def _fake_embed(texts: list[str]) -> np.ndarray:
    """Each known phrase gets its own axis; anything else lies between the first two axes."""
    axes = {p: i for i, (p, _) in enumerate(VOCAB.phrases())}
    out = np.zeros((len(texts), len(axes)))
    for row, text in zip(out, texts):
        if text in axes:
            row[axes[text]] = 1.0
        else:
            row[:2] = 1.0
    return out


def test_scorer_names_nearest_classes_once_each_and_applies_the_threshold() -> None:
    scorer = ConfidenceScorer(VOCAB, _fake_embed)
    exact, between = scorer.score(["a violin plays", "drizzle"])
    assert exact == QueryConfidence(pytest.approx(1.0), True, ["a violin plays", "rain", "man speaking"])
    assert between.score == pytest.approx(2 ** -0.5)
    assert between.known is False
    assert between.nearest[0] in ("rain", "rain falls") and len(between.nearest) == 3
    assert between.warning("drizzle").startswith("'drizzle' is not a sound this model knows well; nearest: ")
    long = between.warning("drizzle " * 2000)  # a long query is cut, so the warning stays a readable line
    assert long.startswith("'drizzle drizzle") and "…' is not a sound" in long and len(long) < 200


def test_scorer_without_threshold_says_unknown_is_undecided() -> None:
    scorer = ConfidenceScorer(Vocabulary(VOCAB.classes), _fake_embed)
    assert scorer.score(["drizzle"])[0].known is None


@pytest.fixture()
def vocab_model(tiny_model: Path, tmp_path: Path) -> Path:
    model = tmp_path / "with-vocab"
    shutil.copytree(tiny_model, model)
    write_vocabulary(model, VOCAB)
    return model


def test_separator_scores_in_its_encoder_space(vocab_model: Path, tiny_model: Path) -> None:
    separator = Separator.load(vocab_model, "cpu")
    confidence = separator.query_confidence("rain falls")
    assert confidence is not None and confidence.score == pytest.approx(1.0, abs=1e-5) and confidence.known
    other = separator.query_confidence("a violin plays loudly")
    assert other is not None and other.nearest[0] == "a violin plays"
    assert Separator.load(tiny_model, "cpu").query_confidence("rain") is None


def test_pooling_ignores_padding_and_returns_unit_vectors() -> None:
    states = np.array([[[3.0, 0.0], [0.0, 3.0], [100.0, 100.0]]])
    pooled = pool_token_states(states, np.array([[False, False, True]]))
    np.testing.assert_allclose(pooled, [[2 ** -0.5, 2 ** -0.5]])


def test_calibration_picks_the_gap_and_counts_both_error_kinds() -> None:
    scores = [0.9, 0.8, 0.7, 0.3, 0.2, 0.75]
    known = [True, True, True, False, False, False]
    threshold = calibrate(scores, known)
    assert 0.3 < threshold <= 0.7 and error_rates(scores, known, threshold) == (0.0, pytest.approx(1 / 3))
    assert error_rates(scores, known, 0.85) == (pytest.approx(2 / 3), 0.0)
    with pytest.raises(ValueError):
        error_rates([0.5], [True], 0.4)


DEFAULT = BUNDLED_DIR / "default"
KNOWN = ["a person talking", "sax", "a drum kit", "bass guitar", "violin", "rain falls", "a downpour", "a chopper",
         "vocals", "synth pad"]
UNKNOWN = ["qwertyuiop", "a cat meowing", "a vacuum cleaner", "a ukulele"]


@pytest.mark.parametrize("engine", ["onnx", "torch"])
def test_default_model_knows_its_sounds_and_paraphrases_but_not_unrelated_words(engine: str) -> None:
    separator = load_separator(DEFAULT, engine, "cpu")
    assert separator.vocabulary is not None and separator.vocabulary.threshold is not None
    for query in KNOWN:
        confidence = separator.query_confidence(query)
        assert confidence is not None and confidence.known, (query, confidence)
    for query in UNKNOWN:
        confidence = separator.query_confidence(query)
        assert confidence is not None and confidence.known is False, (query, confidence)


def test_separate_returns_the_confidence_of_each_text_query(tiny_model: Path) -> None:
    separator = load_separator(DEFAULT, "onnx", "cpu")
    audio = np.zeros((1, 8000), np.float32)
    stems = separator.separate(audio, [" a ukulele ", "violin"], 16000)
    assert set(stems) == {"a ukulele", "violin", "rest"}  # still the dict of stems
    assert stems.confidence["a ukulele"].known is False and stems.confidence["violin"].known is True
    assert stems.confidence["a ukulele"] == separator.query_confidence("a ukulele")
    assert load_separator(tiny_model, "torch", "cpu").separate(audio, "rain", 16000).confidence == {"rain": None}
    assert pickle.loads(pickle.dumps(stems)).keys() == stems.keys()  # results still travel between processes


def test_plugin_host_stages_expose_the_confidence_of_their_queries() -> None:
    from soundsift.plugin_host import StemChains, TextSeparate

    stage = TextSeparate("qwertyuiop", model=str(DEFAULT), engine="onnx")
    assert stage.query_confidence is not None and stage.query_confidence.known is False
    stage.query = "a person talking"
    assert stage.query_confidence is not None and stage.query_confidence.known
    chains = StemChains({"violin": [], "a ukulele": []}, model=str(DEFAULT), engine="onnx")
    known = {query: c.known for query, c in chains.query_confidences.items() if c is not None}
    assert known == {"violin": True, "a ukulele": False}


ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "tests" / "data" / "confidence_queries.csv"
calibration_script = runpy.run_path(str(ROOT / "scripts" / "calibrate_confidence.py"), run_name="calibrate_confidence")


def _known(vocabulary: Vocabulary) -> dict[str, bool]:
    queries, known = calibration_script["labelled_queries"](QUERIES, vocabulary)
    return dict(zip(queries, known.tolist()))


def test_a_calibration_query_is_known_exactly_when_the_model_has_its_class() -> None:
    def vocabulary(*labels: str) -> Vocabulary:
        return Vocabulary(tuple(SoundClass(label, "sfx", ()) for label in labels))

    with_helicopter, without = _known(vocabulary("helicopter", "woman speaking")), _known(vocabulary("rain"))
    assert with_helicopter["a chopper"] and with_helicopter["a helicopter"] and not without["a chopper"]
    assert with_helicopter["a person talking"] and not without["a person talking"]  # any one of its classes
    assert without["a downpour"] and not with_helicopter["a downpour"]
    assert not with_helicopter["qwertyuiop"] and not without["qwertyuiop"]  # names no class: never known
    default = read_vocabulary(DEFAULT)
    assert default is not None and _known(default)["a chopper"] and _known(default)["a downpour"]


def test_a_calibration_list_without_a_class_column_is_one_clear_error(tmp_path: Path) -> None:
    old = tmp_path / "queries.csv"
    old.write_text("query,known\nfiddle,yes\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"queries\.csv: missing column class"):
        calibration_script["labelled_queries"](old, VOCAB)
