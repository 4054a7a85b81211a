"""Benchmark cases and their measurement, each case in a fresh worker process."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from soundsift.errors import SoundsiftError

QUERY_POOL = ("violin", "a man speaking", "a dog barking", "piano", "drums", "rain", "an acoustic guitar",
              "a car engine")


@dataclass(frozen=True)
class Case:
    """One row of the benchmark."""

    engine: str
    seconds: float
    queries: int


@dataclass(frozen=True)
class Result:
    """What one case measured (times in seconds, memory in bytes)."""

    case: Case
    startup_s: float
    seconds: float
    cpu_s: float
    peak_rss: int
    torch_imported: bool
    spread: tuple[float, float] | None = None  # min and max wall time when the case was repeated

    @property
    def rtf(self) -> float:
        """Real-time factor: separation wall time over audio duration."""
        return self.seconds / self.case.seconds


def queries(count: int) -> list[str]:
    """The first ``count`` benchmark queries."""
    if not 1 <= count <= len(QUERY_POOL):
        raise SoundsiftError(f"the speed bench has {len(QUERY_POOL)} queries; asked for {count}")
    return list(QUERY_POOL[:count])


def median_case(case: Case, model: Path, input_path: Path, threads: int, repeats: int) -> Result:
    """Run ``case`` ``repeats`` times: the run with the median wall time, with the min and max beside it."""
    runs = sorted((run_case(case, model, input_path, threads) for _ in range(repeats)), key=lambda r: r.seconds)
    middle = runs[(len(runs) - 1) // 2]
    return middle if repeats == 1 else dataclasses.replace(middle, spread=(runs[0].seconds, runs[-1].seconds))


def run_case(case: Case, model: Path, input_path: Path, threads: int) -> Result:
    """Run ``case`` in a worker process and read back its measurements."""
    request = {"model": str(model), "engine": case.engine, "threads": threads, "input": str(input_path),
               "queries": queries(case.queries)}
    done = subprocess.run([sys.executable, "-m", "soundsift.speedbench.worker", json.dumps(request)],
                          capture_output=True, text=True, check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SoundsiftError(f"speed bench case {case} failed: {tail[0]}")
    return Result(case, **json.loads(done.stdout.strip().splitlines()[-1]))
