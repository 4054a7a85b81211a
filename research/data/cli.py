"""The ``python -m research data ...`` subcommands: argument parsing, then the recipes' build calls."""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from research.data.build import BuildReport
from soundsift.cli_args import positive_int, positive_seconds
from soundsift.errors import SoundsiftError

Handler = Callable[[argparse.Namespace], int]


def add_data_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``data`` and its recipes on the research command's subcommands."""
    p = sub.add_parser("data", help="build training and test corpora offline (music, speech, sfx, testset)")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="RECIPE")

    m = _builder(dsub, "music", "single-instrument clips and chorale pieces rendered with FluidSynth", _run_music,
                 clips_per_class=400, clip_seconds=True)
    m.add_argument("--pieces", type=int, default=600, metavar="N", help="multi-instrument chorale mixtures")
    m.add_argument("--soundfont", action="append", dest="soundfonts", metavar="FONT",
                   help="train/val SoundFont, repeatable (items alternate between them): fluidr3, musescore, sfgm, "
                        "timgm6mb or a .sf2/.sf3 path (default: fluidr3)")
    m.add_argument("--test-soundfont", default="timgm6mb", help="held-out SoundFont for the test split")
    m.add_argument("--classes", default=None, metavar="A,B,...", help="instrument classes (default: all 15)")

    _builder(dsub, "speech", "speech clips (man speaking, woman speaking) synthesised with espeak-ng", _run_speech,
             clips_per_class=1200, clip_seconds=True)

    x = _builder(dsub, "sfx", "real sound effects from Debian game-data packages (fetched)", _run_sfx,
                 clips_per_class=160, clip_seconds=True, debian_cache=True)
    x.add_argument("--packages", default=None, metavar="A,B",
                   help="packages to read (default: every package of research/data/sfx_packages.tsv)")
    x.add_argument("--package-root", action="append", default=[], metavar="PKG=PATH",
                   help="a package's data folder (as in sfx_packages.tsv) to read instead of fetching the package")

    t = _builder(dsub, "testset", "fixed seeded N-source test mixtures with ground-truth sources", _run_testset)
    t.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS", help="corpus folders to draw clips from")
    _split(t)
    t.add_argument("--mixtures", type=positive_int, default=300, metavar="N")
    t.add_argument("--sources", type=positive_int, default=2, metavar="N", help="sources per mixture (default: 2)")
    t.add_argument("--categories", default=None, metavar="A,B", help="only clips of these categories (music,speech,sfx)")
    t.add_argument("--focus", default=None, metavar="CATEGORY",
                   help="every mixture's first source is of this category, the others of any")

    r = _builder(dsub, "realspeech", "real human voices from Debian game and education packages (fetched)",
                 _run_realspeech, clip_seconds=True, debian_cache=True)
    r.add_argument("--voices", default=None, metavar="A,B", help="only these voices of realspeech_voices.tsv")

    mb = _builder(dsub, "musicbeds", "music-bed clips from game soundtracks in Debian packages (fetched)",
                  _run_musicbeds, clip_seconds=True, debian_cache=True)
    mb.add_argument("--clips-per-track", type=positive_int, default=12, metavar="N")
    mb.add_argument("--packages", default=None, metavar="A,B", help="only these packages of musicbeds_tracks.tsv")

    rt = _builder(dsub, "realtest", "seeded 2-source test mixtures of real recordings per domain, with absent queries",
                  _run_realtest)
    rt.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS",
                    help="real-recording corpus folders (realspeech, musicbeds, sound effects, instruments)")
    rt.add_argument("--mixtures", type=positive_int, default=100, metavar="N", help="mixtures per domain (default: 100)")

    zs = dsub.add_parser("zeroshot", help="zero-shot top-1 of the compact encoder on the test clips of corpora")
    zs.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS")
    zs.add_argument("--weights", type=Path, default=None, metavar="DIR",
                    help="compact CLAP weights folder (default: the shipped encoder)")
    _split(zs)
    zs.set_defaults(handler=_run_zeroshot)

    pc = dsub.add_parser("pitchcheck", help="check a speech corpus's gender labels against each voice's median pitch")
    pc.add_argument("corpus", type=Path, metavar="CORPUS")
    pc.add_argument("--clips", type=positive_int, default=20, metavar="N", help="clips sampled per voice (default: 20)")
    _seed(pc)
    pc.set_defaults(handler=_run_pitchcheck)

    _builder(dsub, "realinstruments", "instruments played from recorded samples (FreePats patches, fetched)",
             _run_realinstruments, clips_per_class=200, clip_seconds=True, debian_cache=True)

    st = dsub.add_parser("stats", help="classes, clip counts and hours of a corpus, per split")
    st.add_argument("corpus", type=Path, metavar="CORPUS")
    st.set_defaults(handler=_run_stats)


def _builder(dsub: argparse._SubParsersAction, name: str, help: str, handler: Handler, *,
             clips_per_class: int | None = None, clip_seconds: bool = False,
             debian_cache: bool = False) -> argparse.ArgumentParser:
    """A recipe that builds a corpus (default folder data/NAME) with the options it shares with the others."""
    p = dsub.add_parser(name, help=help)
    default_out = f"data/{name}"
    p.add_argument("-o", "--out", type=Path, default=Path(default_out), metavar="DIR",
                   help=f"corpus folder; an unfinished build there is resumed (default: {default_out})")
    _seed(p)
    p.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    if clips_per_class is not None:
        p.add_argument("--clips-per-class", type=positive_int, default=clips_per_class, metavar="N",
                       help=f"clips per class (default: {clips_per_class})")
    if clip_seconds:
        p.add_argument("--seconds", type=positive_seconds, default=4.0, help="clip length (default: 4)")
    if debian_cache:
        p.add_argument("--debian-cache", type=Path, default=None, metavar="DIR",
                       help="where fetched Debian packages are unpacked (default: $SOUNDSIFT_DEBIAN_CACHE "
                            "or data/cache/debian)")
    p.set_defaults(handler=handler)
    return p


def _seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes (default: 0)")


def _split(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", choices=("train", "val", "test"), default="test")


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(x.strip() for x in text.split(",") if x.strip())


def _report(args: argparse.Namespace, report: BuildReport) -> int:
    if not args.quiet:
        print(f"{report.entries} entries in {report.manifest} ({report.written} made, {report.reused} already there, "
              f"{report.dropped} dropped as silent)")
    return 0


def _run_music(args: argparse.Namespace) -> int:
    from research.data.music import INSTRUMENTS, MusicSettings, build_music

    settings = MusicSettings(
        seed=args.seed, clips_per_class=args.clips_per_class, pieces=args.pieces, seconds=args.seconds,
        soundfonts=tuple(args.soundfonts or ("fluidr3",)), test_soundfont=args.test_soundfont,
        classes=_names(args.classes) or tuple(i.label for i in INSTRUMENTS),
    )
    return _report(args, build_music(args.out, settings, args.jobs, not args.quiet))


def _run_speech(args: argparse.Namespace) -> int:
    from research.data.speech import SpeechSettings, build_speech

    settings = SpeechSettings(seed=args.seed, clips_per_class=args.clips_per_class, seconds=args.seconds)
    return _report(args, build_speech(args.out, settings, args.jobs, not args.quiet))


def _run_sfx(args: argparse.Namespace) -> int:
    from research.data.sfx import SfxSettings, build_sfx
    from research.data.sfx_table import PACKAGES

    roots = {}
    for item in args.package_root:
        name, sep, path = item.partition("=")
        if not sep:
            raise SoundsiftError(f"--package-root expects PKG=PATH, got '{item}'")
        roots[name] = path
    settings = SfxSettings(seed=args.seed, clips_per_class=args.clips_per_class, seconds=args.seconds,
                           packages=_names(args.packages) or tuple(PACKAGES))
    return _report(args, build_sfx(args.out, settings, args.jobs, not args.quiet, roots, cache=args.debian_cache))


def _run_realspeech(args: argparse.Namespace) -> int:
    from research.data.realspeech import RealSpeechSettings, build_realspeech
    from research.data.realspeech_table import heldout

    _use_debian_cache(args)
    settings = RealSpeechSettings(seed=args.seed, seconds=args.seconds, voices=_names(args.voices) or (),
                                  heldout=tuple(sorted(heldout("speech"))))
    return _report(args, build_realspeech(args.out, settings, args.jobs, not args.quiet))


def _run_musicbeds(args: argparse.Namespace) -> int:
    from research.data.musicbeds import MusicBedSettings, build_musicbeds
    from research.data.realspeech_table import heldout

    _use_debian_cache(args)
    settings = MusicBedSettings(seed=args.seed, seconds=args.seconds, clips_per_track=args.clips_per_track,
                                packages=_names(args.packages) or (), heldout=tuple(sorted(heldout("music"))))
    return _report(args, build_musicbeds(args.out, settings, args.jobs, not args.quiet))


def _use_debian_cache(args: argparse.Namespace) -> None:
    from research.data.debian import CACHE_ENV

    if args.debian_cache:
        os.environ[CACHE_ENV] = str(args.debian_cache)


def _run_realtest(args: argparse.Namespace) -> int:
    from research.data.realtest import RealTestSettings, build_realtest, domain_counts
    from soundsift.training.data.manifest import read_manifest

    settings = RealTestSettings(corpora=tuple(str(c) for c in args.corpora), mixtures_per_domain=args.mixtures,
                                seed=args.seed)
    report = build_realtest(args.out, settings, args.jobs, not args.quiet)
    if not args.quiet:
        counts = domain_counts(read_manifest(report.manifest))
        print("mixtures per domain: " + ", ".join(f"{d} {n}" for d, n in sorted(counts.items())))
    return _report(args, report)


def _run_zeroshot(args: argparse.Namespace) -> int:
    from research.data.realtest_zeroshot import format_report, zero_shot_report

    print(format_report(zero_shot_report(args.corpora, args.weights, args.split)))
    return 0


def _run_pitchcheck(args: argparse.Namespace) -> int:
    from research.data.realspeech_pitch import check_corpus

    rows = check_corpus(args.corpus, args.clips, args.seed)
    out = sys.stdout
    out.write("voice\tlabel\tmedian_f0\tpitch\tagree\tclips_agree\tbasis\n")
    for r in rows:
        out.write(f"{r['voice']}\t{r['label']}\t{r['median_f0']}\t{r['pitch']}\t{'yes' if r['agree'] else 'NO'}\t"
                  f"{r['clips_agree']:.2f}\t{r['basis']}\n")
    agree = sum(bool(r["agree"]) for r in rows)
    out.write(f"{agree} of {len(rows)} voices agree with their median pitch\n")
    return 0


def _run_realinstruments(args: argparse.Namespace) -> int:
    from research.data.realinstruments import RealInstrumentSettings, build_realinstruments

    settings = RealInstrumentSettings(seed=args.seed, clips_per_class=args.clips_per_class, seconds=args.seconds)
    return _report(args, build_realinstruments(args.out, settings, args.jobs, not args.quiet, cache=args.debian_cache))


def _run_testset(args: argparse.Namespace) -> int:
    from research.data.testset import TestsetSettings, build_testset

    settings = TestsetSettings(
        corpora=tuple(str(c) for c in args.corpora), split=args.split, mixtures=args.mixtures,
        n_sources=args.sources, seed=args.seed, categories=_names(args.categories), focus=args.focus,
    )
    return _report(args, build_testset(args.out, settings, args.jobs, not args.quiet))


def _run_stats(args: argparse.Namespace) -> int:
    from soundsift.training.data.manifest import read_manifest

    entries = read_manifest(args.corpus)
    counts: Counter[tuple[str, str]] = Counter()
    seconds: Counter[str] = Counter()
    for e in entries:
        counts[(e.label if not e.stems else "(mixtures)", e.split)] += 1
        seconds[e.split] += e.duration
    rows = sorted({k for k, _ in counts})
    width = max(len(r) for r in rows)
    out = sys.stdout
    out.write(f"{'class':<{width}}  {'train':>6} {'val':>6} {'test':>6}\n")
    for r in rows:
        out.write(f"{r:<{width}}  " + " ".join(f"{counts[(r, s)]:>6}" for s in ("train", "val", "test")) + "\n")
    total = sum(seconds.values()) / 3600
    out.write(f"{len(entries)} entries, {total:.2f} h (" + ", ".join(
        f"{s} {seconds[s] / 3600:.2f} h" for s in ("train", "val", "test")) + ")\n")
    return 0
