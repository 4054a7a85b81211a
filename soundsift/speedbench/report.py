"""The speed bench's markdown report, and how it goes into a file that also holds hand-written text."""
from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from soundsift.separation import OVERLAP, SEGMENT_SECONDS
from soundsift.speedbench.measure import Result
from soundsift.speedbench.profile import ModuleTime

BEGIN = "<!-- soundsift bench speed: begin (generated; the bench replaces this section) -->"
END = "<!-- soundsift bench speed: end -->"


@dataclass(frozen=True)
class RunInfo:
    """Everything the report says about how the numbers were made."""

    command: str
    threads: int
    model: str
    model_note: str
    load_before: float
    load_after: float
    repeats: int = 1


def render(info: RunInfo, results: Sequence[Result], profile: Sequence[ModuleTime]) -> str:
    """The generated section, markers included."""
    lines = [BEGIN, "", f"Command: `{info.command}`{_commit()}", "", f"Machine: {machine()}.",
             f"Threads: {info.threads} for both engines (onnxruntime intra-op threads; torch.set_num_threads). "
             f"Load average (1 min) on the machine: {info.load_before:.1f} when the run began, "
             f"{info.load_after:.1f} when it ended"
             + (" — other work was running, so wall times are upper bounds; CPU s is less sensitive to that."
                if max(info.load_before, info.load_after) > 0.5 else "."),
             "", f"Model: {info.model}. {info.model_note}".rstrip(), "",
             ("Each row is a fresh process separating a seeded 16-bit stereo 44.1 kHz WAV into one stem per query "
             f"plus `rest`, written as 24-bit WAV (`separate_file`, {SEGMENT_SECONDS:g} s segments, {OVERLAP:.0%} "
             "overlap). Wall s and RTF "
             + (f"(the median of {info.repeats} runs, their range in brackets; wall time / audio duration) "
                if info.repeats > 1 else "(wall time / audio duration) ")
             + "exclude start-up (imports and model loading, its own column); CPU s is "
             "the process's user + system time for the separation; peak RSS covers the whole process."), "",
             "| engine | input | queries | wall s | RTF | vs 1 query | CPU s | peak RSS | start-up s | torch imported |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    single = {(r.case.engine, r.case.seconds): r.seconds for r in results if r.case.queries == 1}
    for r in results:
        base = single.get((r.case.engine, r.case.seconds))
        ratio = f"{r.seconds / base:.2f}×" if base else "–"
        wall = f"{r.seconds:.2f}" + (f" ({r.spread[0]:.2f}–{r.spread[1]:.2f})" if r.spread else "")
        lines.append(f"| {r.case.engine} | {_duration(r.case.seconds)} | {r.case.queries} | {wall} | "
                     f"{r.rtf:.4f} | {ratio} | {r.cpu_s:.1f} | {r.peak_rss / 2**20:.0f} MiB | {r.startup_s:.1f} | "
                     f"{'yes' if r.torch_imported else 'no'} |")
    if profile:
        lines += ["", ("Where the time goes, per 10 s segment: the network from ONNX Runtime's node profile (one "
                       "query; wall time summed per U-Net module, at basic graph optimisation so that nodes keep "
                       "their module names), then the CPU time of one encoder and one decoder run on one thread at "
                       "full optimisation, and of each numpy stage of the front end on one thread:"), "",
                  "| part | module or stage | ms | share of part |", "|---|---|---|---|"]
        totals = {m.graph: sum(n.ms for n in profile if n.graph == m.graph) for m in profile}
        lines += [f"| {m.graph} | {m.module} | {m.ms:.1f} | {100 * m.ms / totals[m.graph]:.0f}% |"
                  for m in profile if m.ms >= 0.005 * totals[m.graph]]
        lines.append("\nTotals per segment: " + ", ".join(f"{g} {t:.0f} ms" for g, t in totals.items())
                     + "; the encoder runs once per segment, the decoder (and the per-query stages) once per "
                     "query; rows under 0.5% of their part are left out.")
    return "\n".join([*lines, "", END])


def write_section(path: Path, section: str, title: str) -> None:
    """Put ``section`` into ``path``: replace the old generated section, or start the file with a title."""
    text = path.read_text(encoding="utf-8") if path.is_file() else f"# {title}\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    """CPU model, logical CPUs, memory, OS and the versions that matter for speed."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    versions = ", ".join(f"{name} {_version(name)}" for name in ("onnxruntime", "torch", "numpy"))
    return (f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.system()} {platform.release()}, "
            f"Python {sys.version.split()[0]}, {versions}")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" (soundsift at commit {done.stdout.strip()})" if done.returncode == 0 and done.stdout.strip() else ""


def _duration(seconds: float) -> str:
    if seconds >= 60 and math.isclose(seconds % 60, 0):
        return f"{seconds / 60:.0f} min"
    return f"{seconds:g} s"
