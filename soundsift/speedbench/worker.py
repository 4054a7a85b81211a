"""One benchmark case in its own process: ``python -m soundsift.speedbench.worker '<json request>'``.

Loads the model on the requested engine, separates the input file into stems on disk, and
prints one JSON line: start-up and separation wall time, process CPU time, peak RSS, and
whether torch was imported.  Run by :mod:`soundsift.speedbench.measure`.
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_bytes() -> int:
    """This process's peak RSS.  Linux's ru_maxrss survives exec, so a worker would report its
    parent's peak whenever that was higher; /proc's VmHWM starts afresh with the new program."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Measure one case; ``request`` holds model, engine, threads, input and queries."""
    began = time.perf_counter()
    from soundsift.batch import slugify
    from soundsift.engines import load_separator
    from soundsift.separation import REST

    separator = load_separator(request["model"], request["engine"], "cpu", threads=request["threads"])
    loaded = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soundsift-bench-") as out:
        outputs = {q: Path(out) / f"{slugify(q)}.wav" for q in request["queries"]}
        outputs[REST] = Path(out) / "rest.wav"
        cpu = _cpu_seconds()
        start = time.perf_counter()
        separator.separate_file(request["input"], outputs)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
    return {"startup_s": loaded - began, "seconds": seconds, "cpu_s": cpu, "peak_rss": _peak_rss_bytes(),
            "torch_imported": "torch" in sys.modules}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
