"""The bundle build's own checks (the build itself is slow: scripts/build_bundle.py, docs/packaging.md)."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
build_bundle = runpy.run_path(str(ROOT / "scripts" / "build_bundle.py"), run_name="build_bundle")


def test_torch_inside_a_bundle_is_found(tmp_path):
    for path in ["_internal/numpy/core.so", "_internal/torchlike/x.py", "_internal/soundsift/runtime/dsp.pyc"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x" * 10)
    assert build_bundle["torch_files"](tmp_path) == []
    assert build_bundle["size_mb"](tmp_path) == pytest.approx(30 / 1e6)
    (tmp_path / "_internal" / "torch" / "lib").mkdir(parents=True)
    (tmp_path / "_internal" / "libtorch_cpu.so").write_bytes(b"")
    assert sorted(build_bundle["torch_files"](tmp_path)) == [
        "_internal/libtorch_cpu.so", "_internal/torch", "_internal/torch/lib"]


def test_the_spec_refuses_a_model_without_its_onnx_export(tmp_path, monkeypatch, tiny_model):
    monkeypatch.setenv("SOUNDSIFT_BUNDLE_MODEL", str(tiny_model))
    with pytest.raises(SystemExit, match=r"onnx/network.json is missing; export the default model first"):
        runpy.run_path(str(ROOT / "build.spec"), init_globals={"SPECPATH": str(ROOT)})
