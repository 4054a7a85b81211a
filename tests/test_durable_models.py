"""Every writer of a model folder flushes it to the disk before the rename that publishes it (soundsift.durable)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from soundsift.core import EncoderSpec
from soundsift.durable import staged_folder
from soundsift.export_onnx import export_onnx
from soundsift.model.encoders import build_encoder
from soundsift.model.encoders.compact_export import export_text_onnx
from soundsift.model.encoders.compact_model import AudioConfig, CompactClap, CompactConfig
from soundsift.model.encoders.compact_onnx import META_FILE, MODEL_FILE
from soundsift.model.encoders.compact_weights import CONFIG_FILE, WEIGHTS_FILE, write_weights
from soundsift.runtime.layout import DECODER_FILE, ENCODER_FILE, ONNX_DIR
from tests.disk_log import flushed_before_published
from tests.test_onnx import make_onnx_model


def test_compact_clap_weights_are_flushed_before_they_replace_the_old_ones(tmp_path: Path, disk_log) -> None:
    model = CompactClap(CompactConfig(text_model="test", audio=AudioConfig(n_mels=16, channels=(4, 8))))
    for _ in range(2):  # a new folder, then one replacing it
        disk_log.clear()
        write_weights(tmp_path / "weights", model)
        flushed_before_published(disk_log, tmp_path / "weights", [CONFIG_FILE, WEIGHTS_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]  # no staging or old folder left


def test_an_onnx_export_is_flushed_before_it_is_published(tmp_path: Path, disk_log) -> None:
    torch.manual_seed(0)
    model = make_onnx_model(tmp_path / "tiny")  # exported into the model's own folder
    flushed_before_published(disk_log, model / ONNX_DIR, [ENCODER_FILE, DECODER_FILE])
    disk_log.clear()
    export_onnx(model, tmp_path / "copy")  # exported as a new model folder
    flushed_before_published(disk_log, tmp_path / "copy", [CONFIG_FILE, WEIGHTS_FILE, ENCODER_FILE, DECODER_FILE])


def test_the_compact_text_tower_export_is_flushed_before_it_is_published(tmp_path: Path, disk_log) -> None:
    export_text_onnx(build_encoder(EncoderSpec(name="compact")), tmp_path / "text")
    flushed_before_published(disk_log, tmp_path / "text", [MODEL_FILE, META_FILE])


def test_a_folder_write_that_fails_leaves_the_old_folder_and_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with staged_folder(target) as staging:
        (staging / "weights").write_text("old")
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        (staging / "weights").write_text("new")
        raise RuntimeError("disk full")
    assert (target / "weights").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_published_folder_gets_the_mode_of_a_plain_mkdir(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with staged_folder(tmp_path / "model") as staging:
        (staging / "weights").write_text("w")
    assert (tmp_path / "model").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
