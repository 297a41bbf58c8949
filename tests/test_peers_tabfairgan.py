"""Our TabFairGAN against the authors' package ``tabfairgan`` 0.1.0 (``pip install -e ".[peers]"``;
skipped without it).

Line by line, on 600 Adult rows: the same encoding (quantile-transformed numerics, sorted one-hot
categories, the same group and label columns); with the authors' networks given our weights, the
same generator and critic outputs; the same critic loss with its per-entry gradient penalty, the
same fair generator loss and the same gradients, for the same random draws; the same decoding;
and the hyper-parameters of our table equal the literals of the authors' training loop.
The behaviour of whole trainings is compared in ``benchmarks/bench_tabfairgan_peer.py``.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("tabfairgan")

import tabfairgan.main  # noqa: E402
from tabfairgan.modules import Critic, FairLossFunc, Generator, get_crit_loss, get_gradient  # noqa: E402
from tabfairgan.modules import gradient_penalty as authors_gradient_penalty  # noqa: E402
from tabfairgan.utils import get_ohe_data_fair, get_original_data  # noqa: E402

import fairnb.data  # noqa: E402
from fairnb.errors import ParameterError  # noqa: E402
from fairnb.paper000.baselines import hyperparameters as hp  # noqa: E402
from fairnb.paper000.baselines.base import restore_schema  # noqa: E402
from fairnb.paper000.baselines.tabfairgan import TabFairGAN, critic_loss, disparity  # noqa: E402
from fairnb.paper000.study import prepare_data  # noqa: E402

pytestmark = [pytest.mark.peers, pytest.mark.filterwarnings("ignore:n_quantiles")]
LAMBDA = 0.5


@pytest.fixture(scope="module")
def setup():
    """Our model fitted one epoch, the authors' encoding of the same rows (columns in our order) and
    the authors' networks carrying our weights."""
    adult = fairnb.data.load("adult")
    train, _ = prepare_data("adult", "sex", 600, 0)
    ours = TabFairGAN(epochs=1, fair_epochs=1, seed=0, device="cpu").fit(train, dataset=adult, sensitive="sex")
    frame = train[ours.numeric_ + ours.categorical_].copy()
    for column in ours.categorical_:
        frame[column] = frame[column].astype(str).astype(object)
    (ohe, scaler, discrete, continuous, encoded, s_start, y_start, under, priv, _undesire, desire) = \
        get_ohe_data_fair(frame, "sex", "income", "Female", "1")
    width = encoded.shape[1]
    generator, critic = Generator(width, continuous, discrete), Critic(width)
    generator.lin1.load_state_dict(ours.generator_.body[0].state_dict())
    generator.lin_numerical.load_state_dict(ours.generator_.numeric.state_dict())
    for key, head in zip(discrete, ours.generator_.heads):
        generator.lin_cat[key].load_state_dict(head.state_dict())
    critic.dense1.load_state_dict(ours.critic_.net[0].state_dict())
    critic.dense2.load_state_dict(ours.critic_.net[2].state_dict())
    fair_loss = FairLossFunc(s_start, y_start, under, priv, 1 - desire, desire)
    return {"ours": ours, "frame": frame, "train": train, "adult": adult, "ohe": ohe, "scaler": scaler, "encoded": encoded,
            "indices": (s_start + under, s_start + priv, y_start + desire), "generator": generator, "critic": critic,
            "fair_loss": fair_loss}


def test_same_encoding_and_fairness_columns(setup):
    ours = setup["ours"]
    np.testing.assert_allclose(ours._encode(setup["train"]), setup["encoded"], atol=1e-6)
    columns = ours.fairness_columns_
    assert (columns["unprivileged"], columns["privileged"], columns["favourable"]) == setup["indices"]


def test_same_networks_losses_and_gradients(setup):
    ours, generator, critic = setup["ours"], setup["generator"], setup["critic"]
    real = torch.as_tensor(setup["encoded"][:256], dtype=torch.float32)
    noise = torch.randn(256, real.shape[1], generator=torch.Generator().manual_seed(3))
    torch.manual_seed(11)  # the gumbel draws come from torch's global stream in both
    fake_ours = ours.generator_(noise)
    torch.manual_seed(11)
    fake_theirs = generator(noise)
    torch.testing.assert_close(fake_ours, fake_theirs)
    torch.testing.assert_close(ours.critic_(real), critic(real))
    assert ours.critic_(real).shape == real.shape  # d outputs per row, averaged by the losses

    # critic loss: our generator-seeded draws equal the authors' global ones for the same seed
    fake = fake_theirs.detach()
    ours_loss = critic_loss(ours.critic_, real, fake, torch.Generator().manual_seed(5), hp.get("tabfairgan", "gp_weight"))
    torch.manual_seed(5)
    epsilon = torch.rand(256, real.shape[1], requires_grad=True)
    penalty = authors_gradient_penalty(get_gradient(critic, real, fake, epsilon))
    theirs_loss = get_crit_loss(critic(fake), critic(real), penalty, c_lambda=10)
    torch.testing.assert_close(ours_loss, theirs_loss)
    ours_grads = torch.autograd.grad(ours_loss, list(ours.critic_.parameters()))
    theirs_grads = torch.autograd.grad(theirs_loss, [critic.dense1.weight, critic.dense1.bias, critic.dense2.weight, critic.dense2.bias])
    for a, b in zip(ours_grads, theirs_grads):
        torch.testing.assert_close(a, b)

    # fair generator loss and its gradient with respect to the generator's weights
    ours_g = -ours.critic_(fake_ours).mean() - LAMBDA * disparity(fake_ours, *setup["indices"])
    theirs_g = setup["fair_loss"](fake_theirs, critic(fake_theirs), LAMBDA)
    torch.testing.assert_close(ours_g, theirs_g)
    ours_grads = torch.autograd.grad(ours_g, [ours.generator_.body[0].weight, ours.generator_.heads[-1].weight])
    theirs_grads = torch.autograd.grad(theirs_g, [generator.lin1.weight, list(generator.lin_cat.values())[-1].weight])
    for a, b in zip(ours_grads, theirs_grads):
        torch.testing.assert_close(a, b)


def test_same_decoding(setup):
    ours = setup["ours"]
    torch.manual_seed(2)
    soft = setup["generator"](torch.randn(300, setup["encoded"].shape[1])).detach().numpy()
    theirs = get_original_data(soft.astype(np.float64), setup["frame"], setup["ohe"], setup["scaler"])
    pd.testing.assert_frame_equal(ours._decode(soft), restore_schema(theirs, setup["adult"]))


def test_hyperparameters_are_the_authors_literals():
    source = inspect.getsource(tabfairgan.main.TFG.train) + inspect.getsource(tabfairgan.modules) + inspect.getsource(tabfairgan.utils)
    assert re.search(r"gen_optimizer = .*lr=0\.0002, betas=\(0\.5, 0\.999\)", source)
    assert re.search(r"gen_optimizer_fair = .*lr=0\.0001, betas=\(0\.5, 0\.999\)", source)
    assert re.search(r"crit_optimizer = .*lr=0\.0002, betas=\(0\.5, 0\.999\)", source)
    assert (hp.get("tabfairgan", "lr"), hp.get("tabfairgan", "fair_lr"), hp.get("tabfairgan", "betas")) == (2e-4, 1e-4, (0.5, 0.999))
    assert f"crit_repeat = {hp.get('tabfairgan', 'critic_steps')}" in source
    assert f"c_lambda={hp.get('tabfairgan', 'gp_weight'):g}" in source
    assert f"tau={hp.get('tabfairgan', 'gumbel_tau')}" in source
    assert f"n_quantiles={hp.get('tabfairgan', 'n_quantiles')}" in source
    assert "drop_last=True" in source and "test_size=0.1" in source
    assert "f.leaky_relu(self.dense2(x))" in source and hp.get("tabfairgan", "critic_slope") == 0.01  # PyTorch's default slope


def test_holdout_sets_rows_aside_like_the_authors(setup):
    """holdout=0.1 trains on ⌊0.9 n⌋ rows in fixed batches of 256, as the authors' split and loader do."""
    ours = TabFairGAN(epochs=1, fair_epochs=0, holdout=0.1, seed=0, device="cpu")
    ours.fit(setup["train"], dataset=setup["adult"], sensitive="sex")
    assert ours.training_rows_ == 540 and setup["ours"].training_rows_ == 600  # train_test_split: ceil(0.1 · 600) aside
    assert len(ours.history_) == 1 and ours.history_[0]["fair_phase"] == 0.0
    with pytest.raises(ParameterError, match="holdout"):
        TabFairGAN(holdout=0.6).fit(setup["train"], dataset=setup["adult"], sensitive="sex")
