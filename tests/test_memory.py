"""Peak memory of a file separation does not grow with the input's length."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

MEASURE = """
import resource, sys
from soundsift.cli import main
code = main(sys.argv[1:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def _long_file(path: Path, minutes: float, rate: int = 16000) -> Path:
    """A seeded noise-and-tone file written block by block (the test never holds it whole)."""
    rng = np.random.default_rng(0)
    block = rate * 10
    with soundfile.SoundFile(path, "w", rate, 2, subtype="PCM_16") as f:
        for start in range(0, int(minutes * 60 * rate), block):
            t = (start + np.arange(block)) / rate
            tone = 0.3 * np.sin(2 * np.pi * 220 * t)
            f.write((tone[:, None] + 0.05 * rng.standard_normal((block, 2))).astype(np.float32))
    return path


def _peak_rss_mb(src: Path, out: Path, model: Path) -> float:
    argv = ["separate", str(src), "-q", "violin", "-o", str(out), "--model", str(model), "--quiet"]
    result = subprocess.run([sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("PEAK_KB")[1]) / 1024


@pytest.mark.slow
def test_twenty_minutes_need_no_more_memory_than_one(tmp_path, tiny_model):
    short = _peak_rss_mb(_long_file(tmp_path / "one.wav", 1), tmp_path / "o1", tiny_model)
    long = _peak_rss_mb(_long_file(tmp_path / "twenty.wav", 20), tmp_path / "o20", tiny_model)
    assert soundfile.info(tmp_path / "o20" / "twenty" / "rest.wav").frames == 20 * 60 * 16000
    print(f"peak RSS: 1 min -> {short:.0f} MB, 20 min -> {long:.0f} MB")
    # 20 minutes of stereo float32 would be 150 MB per stem; a flat pipeline stays within a small constant.
    assert long <= short + 40, f"peak RSS {long:.0f} MB for 20 min vs {short:.0f} MB for 1 min"
