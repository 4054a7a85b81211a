"""The command line's view of what a model knows: ``soundsift vocabulary``, ``models info`` lines, query warnings."""
from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from soundsift.errors import SoundsiftError
from soundsift.vocabulary import describe, read_vocabulary

if TYPE_CHECKING:
    from soundsift.confidence import QueryConfidence
    from soundsift.queries import QueryLike
    from soundsift.separation import SegmentSeparator


def add_vocabulary_parser(sub: argparse._SubParsersAction) -> None:
    """``soundsift vocabulary [SEARCH] [--model NAME]``."""
    p = sub.add_parser("vocabulary", help="list the sounds a model was trained on (searchable)")
    p.add_argument("search", nargs="?", default="", metavar="SEARCH",
                   help="show only sounds whose name, category or phrasings contain this text")
    p.add_argument("--model", default=None, metavar="NAME_OR_PATH", help="model name or directory (default: default)")
    p.set_defaults(handler=run_vocabulary)


def run_vocabulary(args: argparse.Namespace) -> int:
    """Print the model's training-data summary and its (matching) sounds; 1 when nothing matches."""
    from soundsift.core.store import resolve_model

    path = resolve_model(args.model)
    vocabulary = read_vocabulary(path)
    if vocabulary is None:
        print(f"{path}: " + describe(None)[0])
        return 0
    found = vocabulary.search(args.search)
    for line in describe(vocabulary, found):
        print(line)
    if not found:
        print(f"no sound matches '{args.search}'; run 'soundsift vocabulary' for the whole list")
        return 1
    return 0


def model_info_lines(path: Path) -> list[str]:
    """``models info`` lines about what the model knows; an unreadable vocabulary is said, not raised."""
    try:
        return describe(read_vocabulary(path))
    except SoundsiftError as exc:
        return [f"vocabulary: unreadable ({exc})"]


def query_warnings(separator: SegmentSeparator, queries: Sequence[QueryLike]) -> list[str]:
    """One line per text query the model does not know well (below its calibrated confidence threshold)."""
    texts = dict.fromkeys(q for q in queries if isinstance(q, str))
    return confidence_warnings({query: separator.query_confidence(query) for query in texts})


def confidence_warnings(confidences: Mapping[str, QueryConfidence | None]) -> list[str]:
    """The warning lines of the queries scored below the threshold (e.g. a plugin-host stage's ``query_confidences``)."""
    return [c.warning(query) for query, c in confidences.items() if c is not None and c.known is False]
