"""Build the desktop app bundle (build.spec) and check it: self-test in a clean environment, size, no torch.

    python scripts/build_bundle.py [--out build/bundle] [--runs 3] [--check-only]

Steps: export the current default model (soundsift/pretrained/default) to ONNX in OUT/model/default;
run PyInstaller on build.spec into OUT/dist/soundsift; then run ``soundsift-gui --self-test`` from the
bundle with ``env -i`` (no Python, venv or project on PATH; Qt off screen) RUNS times, and report the
bundle's size, its start-up time (launch to window shown) and the self-test's wall time.  Fails
(exit 1) when the self-test fails, the bundle holds torch, or it is 600 MB or more.  Needs the
``[bundle]`` extra (PyInstaller) and torch (for the export) in the building environment.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MB = 600
TORCH_MARKERS = re.compile(r"(^|/)(torch|libtorch[^/]*|libc10[^/]*|torchvision|torchaudio)(/|$)")


def export_model(target: Path) -> Path:
    """The default model, exported to ONNX, as a complete model folder at ``target`` (replaced if there)."""
    if target.exists():
        shutil.rmtree(target)
    run([sys.executable, "-m", "soundsift", "export-onnx", "default", "-o", str(target)])
    return target


def build(out: Path, model: Path) -> Path:
    """Run PyInstaller on build.spec; returns the bundle folder."""
    env = {**os.environ, "SOUNDSIFT_BUNDLE_MODEL": str(model)}
    run([sys.executable, "-m", "PyInstaller", str(ROOT / "build.spec"), "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "work")], env)
    return out / "dist" / "soundsift"


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(command), flush=True)
    env = {**(env or os.environ), "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(command, check=True, cwd=ROOT, env=env)


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def torch_files(folder: Path) -> list[str]:
    """Paths inside the bundle that belong to torch (or its siblings); must be empty."""
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if TORCH_MARKERS.search(str(p.relative_to(folder)))]


def self_test(bundle: Path, platform: str = "offscreen", display: str | None = None) -> tuple[float, float | None, str]:
    """Run the bundle's self-test in a clean environment; returns (wall seconds, start-up seconds, output).

    ``env -i``: no variables but these; PATH is an empty folder, so no Python, venv or tool can be found.
    """
    with tempfile.TemporaryDirectory(prefix="soundsift-bundle-home-") as home:
        empty = Path(home) / "empty-bin"
        empty.mkdir()
        command = ["env", "-i", f"HOME={home}", f"PATH={empty}", f"QT_QPA_PLATFORM={platform}", "LANG=C.UTF-8",
                   *([f"DISPLAY={display}"] if display else []), str(bundle / "soundsift-gui"), "--self-test"]
        start = time.perf_counter()
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0 or "self-test passed" not in result.stdout:
        raise SystemExit(f"the bundle's self-test failed (exit {result.returncode}):\n{output}")
    match = re.search(r"window ready .* ([0-9.]+) s after launch", result.stdout)
    return wall, float(match.group(1)) if match else None, result.stdout


def xcb_self_test(bundle: Path) -> str:
    """The self-test on Qt's X11 platform under a virtual X server, when Xvfb is installed."""
    if shutil.which("Xvfb") is None:
        return "skipped (no Xvfb)"
    display = ":93"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x1024x24"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        self_test(bundle, "xcb", display)
    finally:
        server.terminate()
        server.wait()
    return "passed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bundle", help="build folder (default: build/bundle)")
    parser.add_argument("--runs", type=int, default=3, help="self-test runs to time (default: 3)")
    parser.add_argument("--check-only", action="store_true", help="check an existing bundle without building")
    parser.add_argument("--report", type=Path, default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    started = time.perf_counter()
    if args.check_only:
        bundle = out / "dist" / "soundsift"
    else:
        bundle = build(out, export_model(out / "model" / "default"))
    build_seconds = time.perf_counter() - started
    found = torch_files(bundle)
    if found:
        raise SystemExit(f"the bundle holds torch: {found[:5]}")
    size = size_mb(bundle)
    runs = [self_test(bundle) for _ in range(max(1, args.runs))]
    print(runs[-1][2], end="")
    startups = [s for _, s, _ in runs if s is not None]
    xcb = xcb_self_test(bundle)
    report = {
        "bundle": str(bundle),
        "size_mb": round(size, 1),
        "model_mb": round(size_mb(bundle / "_internal" / "soundsift" / "pretrained"), 1),
        "build_seconds": None if args.check_only else round(build_seconds, 1),
        "self_test_seconds": [round(w, 2) for w, _, _ in runs],
        "startup_seconds": [round(s, 2) for s in startups],
        "startup_median_seconds": round(statistics.median(startups), 2) if startups else None,
        "torch_files": 0,
        "xcb_self_test": xcb,
    }
    print(json.dumps(report, indent=2))
    if args.report is not None:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    if size >= LIMIT_MB:
        raise SystemExit(f"the bundle is {size:.0f} MB, over the {LIMIT_MB} MB limit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
