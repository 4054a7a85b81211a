"""``soundsift bench speed``: arguments, then the cases, the optional profile and the report."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

DURATIONS = (10.0, 180.0, 1800.0)
QUERY_COUNTS = (1, 8)
QUICK_DURATIONS = (3.0,)
QUICK_QUERY_COUNTS = (1, 2)


def add_bench_speed_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench speed`` (argparse only; the bench is imported when it runs)."""
    p = sub.add_parser("speed", help="real-time factor and peak memory of the torch and ONNX engines")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", default=None, metavar="NAME_OR_PATH", help="model to measure (default: default)")
    source.add_argument("--fresh-model", nargs="?", const="{}", default=None, metavar="JSON",
                        help="measure an untrained model with the compact encoder, of the default network config "
                             "or of these NetworkConfig fields, e.g. '{\"base_channels\": 8}'")
    p.add_argument("--engines", default="torch,onnx", metavar="LIST", help="engines to measure (default: torch,onnx)")
    p.add_argument("--durations", default=None, metavar="SECONDS,...",
                   help="input lengths in seconds (default: 10,180,1800)")
    p.add_argument("--queries", default=None, metavar="N,...", help="query counts (default: 1,8)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads for both engines (default: all)")
    p.add_argument("--repeats", type=int, default=1, metavar="N",
                   help="run each case N times and report the median wall time with its range (default: 1)")
    p.add_argument("--quick", action="store_true", help="a 3-second input with 1 and 2 queries (a smoke test)")
    p.add_argument("--profile", action="store_true", help="also profile the ONNX network per U-Net module")
    p.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                   help="keep generated inputs (and the fresh model) here (default: a temporary folder)")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                   help="also write the report into FILE (its generated section is replaced, the rest kept)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run every case, print the report, and write it to ``--output`` when given."""
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="soundsift-speed-") as tmp:
            return _run(args, Path(tmp))
    return _run(args, args.workdir)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    from soundsift.core.model_dir import read_config
    from soundsift.core.store import resolve_model
    from soundsift.errors import InvalidArgumentError
    from soundsift.runtime.layout import has_onnx_export
    from soundsift.speedbench import models, report
    from soundsift.speedbench.inputs import make_input
    from soundsift.speedbench.measure import Case, median_case
    from soundsift.speedbench.profile import network_cpu_ms, profile_front_end, profile_network

    engines = _items(args.engines, str)
    if not engines or set(engines) - {"torch", "onnx"}:
        raise InvalidArgumentError(f"--engines takes torch and/or onnx, got '{args.engines}'")
    durations = _items(args.durations, float) if args.durations else (QUICK_DURATIONS if args.quick else DURATIONS)
    counts = _items(args.queries, int) if args.queries else (QUICK_QUERY_COUNTS if args.quick else QUERY_COUNTS)
    threads = args.threads or os.cpu_count() or 1
    if args.repeats < 1:
        raise InvalidArgumentError(f"--repeats takes a positive count, got {args.repeats}")
    model = resolve_model(args.model) if args.fresh_model is None else models.fresh_model(workdir, _json(args.fresh_model))
    if ("onnx" in engines or args.profile) and not has_onnx_export(model):
        raise InvalidArgumentError(f"{model} has no ONNX export; run 'soundsift export-onnx {model}' first")
    load_before = os.getloadavg()[0]
    results = []
    for seconds in durations:
        audio = make_input(workdir / f"input-{seconds:g}s.wav", seconds)
        for engine in engines:
            for count in counts:
                result = median_case(Case(engine, seconds, count), model, audio, threads, args.repeats)
                print(f"{engine:5s} {seconds:7g} s  {count} queries: {result.seconds:8.2f} s  RTF {result.rtf:.4f}  "
                      f"peak {result.peak_rss / 2**20:.0f} MiB", file=sys.stderr)
                results.append(result)
    profile = ([*profile_network(model, threads), *network_cpu_ms(model), *profile_front_end(read_config(model).stft)]
               if args.profile else [])
    info = report.RunInfo(_command(), threads, models.describe(model), "" if args.fresh_model is None else models.FRESH_NOTE,
                          load_before, os.getloadavg()[0], args.repeats)
    section = report.render(info, results, profile)
    print(section)
    if args.output is not None:
        report.write_section(args.output, section, "Performance")
    return 0


def _json(text: str) -> dict:
    from soundsift.errors import InvalidArgumentError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"--fresh-model takes a JSON object of NetworkConfig fields ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError("--fresh-model takes a JSON object of NetworkConfig fields")
    return value


def _items(text: str, kind: type) -> list:
    return [kind(part) for part in text.split(",") if part.strip()]


def _command() -> str:
    return shlex.join(["soundsift", *sys.argv[1:]]) if Path(sys.argv[0]).name in {"soundsift", "__main__.py"} \
        else "soundsift bench speed"
