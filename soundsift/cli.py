"""The ``soundsift`` command: argument parsing, then calls into the public API.

Errors that soundsift raises on purpose end as one line on stderr and a non-zero exit code
(1 for a failed job, 2 for bad usage); tracebacks are reserved for bugs.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from soundsift import __version__
from soundsift.cli_args import fraction, key_value, positive_int, segment_seconds
from soundsift.errors import SoundsiftError
from soundsift.separation import OVERLAP, SEGMENT_SECONDS

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self exists from Python 3.11

    from soundsift.separator import Separator

BIT_DEPTH_CHOICES = ("16", "24", "32f")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """--model, --device and --encoder-option, shared by every command that loads a separator."""
    p.add_argument("--model", default=None, metavar="NAME_OR_PATH", help="model name or directory (default: default)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="compute device (default: auto)")
    p.add_argument("--encoder-option", dest="encoder_options", action="append", default=[], type=key_value,
                   metavar="KEY=VALUE", help="override a query-encoder option, e.g. checkpoint=/path/to/clap.pt")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (kept separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="soundsift", description="Separate sounds from recordings by text queries.")
    parser.add_argument("--version", action="version", version=f"soundsift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_separate(sub)
    _add_export_onnx(sub)
    _add_gui(sub)
    _add_process(sub)
    _add_presets(sub)
    _add_models(sub)
    _add_vocabulary(sub)
    _add_eval(sub)
    _add_train(sub)
    _add_finetune(sub)
    _add_bench(sub)
    return parser


def _add_separate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("separate", help="extract (or remove) sounds described by text queries")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files, or folders of audio files")
    p.add_argument("-q", "--query", dest="queries", action="append", default=[], metavar="QUERY",
                   help="what to extract, e.g. 'violin' (repeat for several)")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="a query preset (queries, mode and levels; see 'soundsift presets list'); -q adds queries")
    _add_audio_query_options(p)
    p.add_argument("-o", "--output", type=Path, default=Path("separated"), metavar="DIR",
                   help="output folder; stems go to DIR/<track>/<query>.<ext> (default: ./separated)")
    p.add_argument("--mode", choices=("extract", "remove"), default=None,
                   help="extract the queried sounds, or write the input with each of them removed "
                        "(default: the preset's mode, else extract)")
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="output file format (default: wav)")
    p.add_argument("--bit-depth", choices=BIT_DEPTH_CHOICES, default="24", help="output sample format (default: 24)")
    _add_model_options(p)
    p.add_argument("--engine", choices=("auto", "torch", "onnx"), default="auto",
                   help="inference engine: auto (ONNX Runtime when the model has an ONNX export, unless a GPU "
                        "only torch can use is there), torch or onnx (default: auto)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="CPU threads for inference (default: the engine's own choice)")
    p.add_argument("--segment-batch", type=positive_int, default=None, metavar="N",
                   help="segments per network call (default: 4 on a GPU with torch, else 1)")
    p.add_argument("--half", action="store_true", help="float16 network on a CUDA GPU (torch engine)")
    p.add_argument("--segment", type=segment_seconds, default=SEGMENT_SECONDS, metavar="SECONDS",
                   help="segment length for long inputs, 0.1 to 600 (default: 10)")
    p.add_argument("--overlap", type=fraction("overlap", 0.5), default=OVERLAP, metavar="FRACTION",
                   help=f"overlap between segments as a fraction of a segment (default: {OVERLAP})")
    p.add_argument("--no-rest", action="store_true", help="do not write the residual 'rest' stem")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier run in a track folder (default: refuse)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(handler=_run_separate, usage_check=_separate_usage)


def _add_export_onnx(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-onnx", help="export a model to ONNX for the torch-free engine")
    p.add_argument("model", metavar="MODEL", help="model name or directory")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="write a complete model directory (config, weights, onnx/) here "
                        "(default: add onnx/ to MODEL's own directory)")
    p.set_defaults(handler=_run_export_onnx)


def _run_export_onnx(args: argparse.Namespace) -> int:
    from soundsift.export_onnx import export_onnx

    target = export_onnx(args.model, args.output)
    print(f"wrote the ONNX export to {target / 'onnx'}/ (checked against torch); "
          f"'soundsift separate --model {target}' now runs it on ONNX Runtime")
    return 0


def _add_process(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("process", help="run a file through a chain preset (separation, effects, remix)")
    p.add_argument("input", type=Path, metavar="INPUT", help="audio file to process")
    p.add_argument("--preset", "--chain", dest="chain", required=True, metavar="PRESET",
                   help="a preset (chain or query): a .toml file or a preset name (see 'soundsift presets list')")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output file (.wav or .flac)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (default: refuse)")
    p.add_argument("--bit-depth", choices=BIT_DEPTH_CHOICES, default="24", help="output sample format (default: 24)")
    p.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                   help="use this model in every separating stage instead of the preset's")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="use this device in every separating stage instead of the preset's")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(handler=_run_process)


def _run_process(args: argparse.Namespace) -> int:
    from soundsift.output_folders import refuse_existing_file
    from soundsift.plugin_host import SeparatingStage, process_file, walk
    from soundsift.presets import load_preset
    from soundsift.vocabulary_cli import confidence_warnings

    refuse_existing_file(args.output, args.overwrite, [args.input])
    chain = load_preset(args.chain)  # a query preset comes back as its StemChains remix
    for stage in walk(chain):
        if isinstance(stage, SeparatingStage):
            stage.model = args.model or stage.model
            stage.device = args.device or stage.device
            for warning in confidence_warnings(stage.query_confidences):
                print(f"soundsift: warning: {warning}", file=sys.stderr)
    with _ProgressBar(args.input.name, args.quiet) as progress:
        written = process_file(chain, args.input, args.output, args.bit_depth, progress=progress)
    if not args.quiet:
        print(f"{args.input}: wrote {written}")
    return 0


def _add_presets(sub: argparse._SubParsersAction) -> None:
    from soundsift.presets.cli import add_presets_parser  # argparse only; presets load on use

    add_presets_parser(sub)


def _add_gui(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="audio files or folders to put in the queue")
    p.set_defaults(handler=_run_gui)


def _run_gui(args: argparse.Namespace) -> int:
    try:
        from soundsift.gui.app import run  # lazily: PyQt6 is the optional [gui] extra
    except ImportError as exc:
        raise SoundsiftError(f"the desktop app cannot start ({exc}); "
                             "install it with: pip install 'soundsift[gui]'") from None
    return run(args.inputs)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list installed models or show one")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="list the models soundsift can find").set_defaults(handler=_run_models_list)
    info = msub.add_parser("info", help="show a model's configuration")
    info.add_argument("name", metavar="NAME_OR_PATH")
    info.set_defaults(handler=_run_models_info)


def _add_vocabulary(sub: argparse._SubParsersAction) -> None:
    from soundsift.vocabulary_cli import add_vocabulary_parser

    add_vocabulary_parser(sub)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score a model on saved test mixtures (SDR / SIR / SAR / SDRi)")
    _add_model_options(p)
    p.add_argument("--testset", type=Path, required=True, metavar="DIR", help="test corpus folder (manifest.jsonl)")
    p.add_argument("--queries", choices=("labels", "captions", "paraphrases", "audio"), default="labels",
                   help="query each stem by 'the sound of {label}', by its caption, by a paraphrase of its label "
                        "never used in training ('fiddle' for violin; labels without one keep the label query), "
                        "or by reference clips of its class (audio; see --references) (default: labels)")
    _add_eval_audio_options(p)
    p.add_argument("--limit", type=positive_int, default=None, metavar="N", help="score only the first N mixtures")
    p.add_argument("--domain", default=None, metavar="NAME",
                   help="score only the mixtures of this domain (test sets of real recordings, e.g. 'speech over sfx')")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every score to FILE")
    p.add_argument("--absent", action="store_true",
                   help="also query each mixture for a class it does not hold and report the median output level "
                        "relative to the mixture (dB; near silence is right)")
    p.add_argument("--paraphrase-gap", action="store_true",
                   help="also score the stems by held-out paraphrases and report how far their SDRi falls "
                        "behind the label queries' (dB)")
    p.set_defaults(handler=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from soundsift.separator import Separator
    from soundsift.training import evaluate as ev

    separator = Separator.load(args.model, device=args.device, encoder_options=dict(args.encoder_options))
    testset = ev.load_testset(args.testset, args.limit, args.domain)
    template = ev.QUERY_TEMPLATE if args.queries == "labels" else None
    query_fn = (_eval_audio_queries(args) if args.queries == "audio"
                else ev.paraphrase_queries if args.queries == "paraphrases" else None)
    with tqdm(total=len(testset), desc="evaluating", unit="mix", leave=False) as bar:
        scores = ev.evaluate(ev.separator_estimator(separator), testset, separator.config.stft, template,
                             lambda done, total: bar.update(done - bar.n), query_fn)
    summary = ev.summarise(scores, args.held_out)
    print(ev.format_table(summary))
    extra = _eval_query_checks(args, separator, testset, scores)
    if args.json is not None:
        meta = {"model": str(args.model), "testset": str(args.testset), "queries": args.queries, "limit": args.limit,
                "domain": args.domain, "held_out": args.held_out}
        if args.queries == "audio":
            meta.update(references=[str(r) for r in args.references], reference_split=args.reference_split,
                        reference_seed=args.reference_seed, examples=args.examples)
        ev.write_report(args.json, scores, summary, meta, extra)
    return 0


def _eval_query_checks(args: argparse.Namespace, separator: Separator, testset: list, scores: list) -> dict:
    """``eval --absent`` / ``--paraphrase-gap``: print the checks asked for; their JSON report sections."""
    from soundsift.training import absent_eval as ae
    from soundsift.training import evaluate as ev

    estimate = ev.separator_estimator(separator)
    absent = ae.absent_levels(estimate, testset) if args.absent else None
    gap = None
    if args.paraphrase_gap:
        labels = scores if args.queries == "labels" else ev.evaluate(estimate, testset, separator.config.stft)
        paraphrased = ev.evaluate(estimate, testset, separator.config.stft, query_fn=ev.paraphrase_queries)
        gap = ae.paraphrase_gap(labels, paraphrased)
    if args.absent or args.paraphrase_gap:
        print(ae.format_checks(absent, gap, args.paraphrase_gap))
    return ae.report_sections(absent, gap)


def _add_eval_audio_options(p: argparse.ArgumentParser) -> None:
    """Options of ``eval`` for audio-example queries and held-out classes (docs/query_by_example.md)."""
    p.add_argument("--references", nargs="+", type=Path, default=[], metavar="CORPUS",
                   help="corpus folders to draw reference clips from (with --queries audio)")
    p.add_argument("--reference-split", default="val,train", metavar="SPLIT[,SPLIT]",
                   help="splits the reference clips come from, in order of preference per class "
                        "(default: val,train; test mixtures use test)")
    p.add_argument("--reference-seed", type=int, default=0, metavar="N", help="seed of the reference draw (default: 0)")
    p.add_argument("--examples", type=positive_int, default=1, metavar="N",
                   help="reference clips averaged into each audio query (default: 1)")
    p.add_argument("--held-out", nargs="+", default=[], metavar="CLASS",
                   help="class labels held out of training: adds 'seen' and 'held-out' rows to the table")
    p.set_defaults(usage_check=_eval_usage)


def _eval_usage(args: argparse.Namespace) -> str | None:
    if args.queries == "audio" and not args.references:
        return "--queries audio needs --references CORPUS ... (where the reference clips come from)"
    return None


def _eval_audio_queries(args: argparse.Namespace) -> Callable[..., list]:
    from soundsift.training.evaluate import audio_example_queries
    from soundsift.training.references import ReferencePicker

    splits = [s.strip() for s in args.reference_split.split(",") if s.strip()]
    picker = ReferencePicker(args.references, splits, args.reference_seed, args.examples)
    return audio_example_queries(picker)


def _add_train(sub: argparse._SubParsersAction) -> None:
    from soundsift.training.train_cli import add_separator_parser  # argparse only; trainer imported on use

    train = sub.add_parser("train", help="train models (see 'soundsift train -h')")
    train_sub = train.add_subparsers(dest="train_command", required=True, metavar="WHAT")
    add_separator_parser(train_sub)


def _add_finetune(sub: argparse._SubParsersAction) -> None:
    from soundsift.training.finetune.cli import add_finetune_parser  # argparse only; torch is imported on use

    add_finetune_parser(sub)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    from soundsift.speedbench.cli import add_bench_speed_parser

    bench = sub.add_parser("bench", help="benchmarks (see 'soundsift bench -h')")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    add_bench_speed_parser(bench_sub)


def _run_separate(args: argparse.Namespace) -> int:
    from soundsift.audio import check_bit_depth, output_format
    from soundsift.batch import expand_inputs, plan_jobs
    from soundsift.engines import load_separator
    from soundsift.output_folders import recording_run, refuse_earlier_outputs
    from soundsift.presets.cli import QueryRequest, separate_request
    from soundsift.separation import SeparationOptions
    from soundsift.vocabulary_cli import query_warnings

    audio_only = bool(args.audio_queries) and not args.queries and args.preset is None
    request = QueryRequest([], args.mode or "extract") if audio_only else separate_request(
        args.queries, args.mode, args.preset)
    check_bit_depth(output_format(Path(f"x.{args.format}")), args.bit_depth, f"--format {args.format}")
    queries = _separate_queries(request.queries, args)
    inputs = expand_inputs(args.inputs, exclude=args.output)
    problems = _unreadable(inputs)
    if problems:
        for problem in problems:
            print(f"soundsift: error: {problem}", file=sys.stderr)
        return 1
    jobs = plan_jobs(inputs, queries, args.output, args.format, include_rest=not args.no_rest, mode=request.mode)
    refuse_earlier_outputs([job.outputs.values() for job in jobs], args.overwrite)
    audio = any(not isinstance(q, str) for q in queries)
    separator = load_separator(args.model, args.engine, args.device, dict(args.encoder_options), args.threads, args.half,
                               audio_queries=audio)
    for warning in query_warnings(separator, queries):
        print(f"soundsift: warning: {warning}", file=sys.stderr)
    options = SeparationOptions(request.mode, args.segment, args.overlap, not args.no_rest, args.segment_batch,
                                request.gain_db)
    failed = 0
    for job in jobs:
        with _ProgressBar(job.source.name, args.quiet) as progress:
            try:
                with recording_run(job.outputs.values(), job.source):  # replaces an earlier run's files as a whole
                    written = separator.separate_file(job.source, job.outputs, options, args.bit_depth, progress,
                                                      queries=queries)
            except SoundsiftError as exc:
                print(f"soundsift: error: {exc}", file=sys.stderr)
                failed += 1
                continue
        if not args.quiet:
            print(f"{job.source}: wrote {len(written)} stems to {written[0].parent}/ ("
                  + ", ".join(p.name for p in written) + ")")
    if failed and len(jobs) > 1:
        print(f"soundsift: {failed} of {len(jobs)} inputs failed (see above)", file=sys.stderr)
    return 1 if failed else 0


def _add_audio_query_options(p: argparse.ArgumentParser) -> None:
    """--query-audio and --text-weight (query by example; docs/query_by_example.md)."""
    p.add_argument("--query-audio", dest="audio_queries", action="append", default=[], metavar="FILE[:START-END]",
                   help="extract what sounds like this reference clip, optionally cut to START-END seconds; "
                        "'a.wav,b.wav' averages several examples, 'ref.wav=flute' blends in a text "
                        "(repeat for several; stems are named like-<file>)")
    p.add_argument("--text-weight", type=float, default=None, metavar="W",
                   help="weight of the text in 'FILE=TEXT' audio queries, 0..1 (default: 0.5)")


def _separate_usage(args: argparse.Namespace) -> str | None:
    """A usage problem of ``separate`` that argparse cannot see, or None."""
    if not args.queries and not args.audio_queries and args.preset is None:
        return ("separate needs at least one query (-q QUERY) or a query preset (--preset NAME), "
                "or a reference clip (--query-audio FILE[:START-END])")
    if args.text_weight is not None and not 0.0 <= args.text_weight <= 1.0:
        return f"--text-weight must be in [0, 1], got {args.text_weight:g}"
    return None


def _separate_queries(texts: Sequence[str], args: argparse.Namespace) -> list:
    """The text queries plus the audio queries of ``separate``, every audio example read and checked up front."""
    from soundsift.queries import DEFAULT_TEXT_WEIGHT, parse_audio_query

    weight = DEFAULT_TEXT_WEIGHT if args.text_weight is None else args.text_weight
    audio = [parse_audio_query(spec, weight) for spec in args.audio_queries]
    for query in audio:
        for example in query.examples:
            example.load(16_000)  # fails early, naming the file, when an example is unreadable, short or silent
    from soundsift.separation import check_queries

    return check_queries([*texts, *audio])


def _unreadable(inputs: Sequence[Path]) -> list[str]:
    """One message per input that does not open as audio (checked before anything is written)."""
    from soundsift.audio import probe

    problems = []
    for path in inputs:
        try:
            probe(path)
        except SoundsiftError as exc:
            problems.append(str(exc))
    return problems


class _ProgressBar:
    """A tqdm bar over samples, used as a ``(done, total)`` progress callback."""

    def __init__(self, label: str, quiet: bool) -> None:
        from tqdm import tqdm

        self._bar = tqdm(desc=label, unit="smp", unit_scale=True, disable=True if quiet else None, leave=False)

    def __call__(self, done: int, total: int) -> None:
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


def _run_models_list(args: argparse.Namespace) -> int:
    from soundsift.core.store import list_models, search_dirs

    entries = list_models()
    if not entries:
        print("No models installed. Searched: " + ", ".join(str(d) for _, d in search_dirs()))
        return 0
    width = max(len(e.name) for e in entries)
    for entry in entries:
        try:
            cfg = entry.config()
            detail = f"encoder={cfg.encoder.name} {cfg.description}".rstrip()
        except SoundsiftError as exc:
            detail = f"(unreadable: {exc})"
        print(f"{entry.name:<{width}}  {entry.origin:<8}  {detail}  [{entry.path}]")
    return 0


def _run_models_info(args: argparse.Namespace) -> int:
    from soundsift.core.model_dir import WEIGHTS_FILE, read_config
    from soundsift.core.store import resolve_model
    from soundsift.vocabulary_cli import model_info_lines

    path = resolve_model(args.name)
    cfg = read_config(path)
    weights = path / WEIGHTS_FILE
    print(f"model:   {args.name}")
    print(f"path:    {path}")
    if weights.is_file():
        print(f"weights: {weights.stat().st_size / 1e6:.2f} MB")
    print(json.dumps(cfg.to_dict(), indent=2))
    print("\n".join(model_info_lines(path)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``soundsift`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = args.usage_check(args) if hasattr(args, "usage_check") else None
    if problem:
        parser.error(problem)
    previous = _stop_on_sigterm()
    try:
        return int(args.handler(args))
    except SoundsiftError as exc:
        print(f"soundsift: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soundsift: interrupted; no partial outputs were kept", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm() -> Callable[..., object] | int | None:
    """Make SIGTERM stop a command like Ctrl-C does (temporary files removed); returns the handler it replaced.

    Only the main thread can set handlers; elsewhere (None) SIGTERM keeps its default.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, signal.default_int_handler)
