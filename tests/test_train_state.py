"""Resumable training state: a resumed run continues exactly where the saved one stood."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from soundsift import Separator
from soundsift.core import ModelConfig
from soundsift.errors import CheckpointError
from soundsift.model import init_model
from soundsift.model.unet import Query
from soundsift.training.state import Progress, load_state, save_state
from tests.conftest import TINY


def _adam(params):
    return torch.optim.Adam(params, lr=1e-2)


def _steps(net, enc, opt, gen, n):
    for _ in range(n):
        wave = torch.from_numpy(gen.standard_normal((2, 8000)).astype(np.float32)) * (1 + torch.rand(1))
        emb = enc.encode_text(["violin"])
        loss = net.masks(wave, Query(emb)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    net, enc = init_model(ModelConfig(network=TINY), seed=0)
    opt = _adam(net.parameters())
    gen = np.random.default_rng(0)
    _steps(net, enc, opt, gen, 2)
    save_state(tmp_path, net, enc, opt, Progress(step=2, best_val_sdr=1.5), gen)
    _steps(net, enc, opt, gen, 3)

    gen2 = np.random.default_rng(123)
    net2, enc2, opt2, progress = load_state(tmp_path, _adam, gen2)
    assert progress.step == 2 and progress.best_val_sdr == 1.5
    _steps(net2, enc2, opt2, gen2, 3)
    for (k, a), (_, b) in zip(net.state_dict().items(), net2.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)


def test_checkpoint_folder_is_a_loadable_model_and_replaced_atomically(tmp_path):
    net, enc = init_model(ModelConfig(network=TINY), seed=0)
    opt = _adam(net.parameters())
    gen = np.random.default_rng(0)
    save_state(tmp_path, net, enc, opt, Progress(step=1), gen)
    save_state(tmp_path, net, enc, opt, Progress(step=2), gen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    sep = Separator.load(tmp_path / "checkpoint", "cpu")
    assert set(sep.separate(np.zeros(1600, np.float32) + 0.1, ["a"], 16000)) == {"a", "rest"}


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no resumable checkpoint"):
        load_state(tmp_path, _adam, np.random.default_rng(0))
