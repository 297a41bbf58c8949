"""Stage 1 (FairDisco) and the generic training loop."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from fairnb.data import Block
from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.metrics import dcov2
from fairnb.nn.train import Training, gaussian_kl, train_loop
from fairnb.paper000 import FairDisco, block_reconstruction




def toy_problem(n: int = 512, seed: int = 0):
    """Two-feature numeric data whose first feature is shifted by the group: z will want to encode s."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, size=n)
    x = np.stack([rng.normal(size=n) + 2.5 * s, rng.normal(size=n)], axis=1).astype(np.float32)
    blocks = [Block("a", "numeric", 0, 1), Block("b", "numeric", 1, 2)]
    return x, s, blocks


def latent_dcov(model: FairDisco, x, s) -> float:
    mean, _ = model.encode(x, s)
    return float(dcov2(mean.double(), torch.nn.functional.one_hot(torch.as_tensor(s), 2).double()))


@pytest.mark.parametrize("estimator", ["posterior", "sample"])
def test_penalty_reduces_dcov(estimator):
    x, s, blocks = toy_problem(384)
    settings = dict(blocks=blocks, z_dim=2, h_dim=16, epochs=30, batch_size=128, seed=0, dcov_estimator=estimator)
    plain = FairDisco(2, beta_exponent=0, **settings).fit(x, s)
    fair = FairDisco(2, beta_exponent=3 if estimator == "sample" else 4, **settings).fit(x, s)
    assert latent_dcov(fair, x, s) < 0.5 * latent_dcov(plain, x, s)
    assert list(plain.history.columns) == ["epoch", "loss", "reconstruction", "kl", "fairness", "seconds"]
    assert len(plain.history) == 30


def test_reference_beta_does_not_blow_up():
    x, s, blocks = toy_problem(256)
    model = FairDisco(2, blocks, z_dim=2, h_dim=16, epochs=5, batch_size=128, beta_exponent=7).fit(x, s)
    assert np.isfinite(model.history[["loss", "fairness"]].to_numpy()).all()


def test_same_seed_same_history():
    x, s, blocks = toy_problem(256)
    runs = [FairDisco(2, blocks, z_dim=2, h_dim=8, epochs=3, batch_size=64, seed=5).fit(x, s).history for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0].drop(columns="seconds"), runs[1].drop(columns="seconds"))


def test_block_reconstruction_hand_computed():
    blocks = [Block("c", "categorical", 0, 3, ("a", "b", "c")), Block("v", "numeric", 3, 4)]
    x = torch.tensor([[0.0, 1.0, 0.0, 0.5], [1.0, 0.0, 0.0, -1.0]])
    x_hat = torch.tensor([[0.0, 0.0, 0.0, 1.5], [0.0, 0.0, 0.0, -1.0]])
    # uniform logits: cross-entropy log 3 per row; squared errors 1 and 0
    expected = np.log(3) + 0.5
    assert float(block_reconstruction(blocks)(x_hat, x)) == pytest.approx(expected, rel=1e-6)


def test_gaussian_kl_hand_computed():
    mean = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, np.log(2.0)]], dtype=torch.float32)
    # KL per dim: ½(σ² + μ² − 1 − log σ²) → ½(1 + 1 − 1 − 0) + ½(2 + 0 − 1 − log 2)
    expected = 0.5 + 0.5 * (1 - np.log(2))
    assert float(gaussian_kl(mean, logvar)) == pytest.approx(expected, rel=1e-6)


def test_nan_loss_raises_with_epoch_and_step():
    weight = torch.nn.Parameter(torch.ones(1))
    data = TensorDataset(torch.arange(8.0))

    calls = []

    def step(batch):
        calls.append(1)
        value = weight * batch[0].mean()
        return {"loss": value if len(calls) < 2 else value * float("nan")}

    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step 2: loss=nan"):
        train_loop([weight], step, data, Training(epochs=1, batch_size=4, seed=0))


def test_training_on_simple_regression_decreases_loss():
    weight = torch.nn.Parameter(torch.zeros(1))
    x = torch.linspace(-1, 1, 64)
    history = train_loop([weight], lambda b: {"loss": ((weight * b[0] - 3 * b[0]) ** 2).mean()},
                         TensorDataset(x), Training(epochs=30, batch_size=16, lr=0.1))
    assert history.loss.iloc[-1] < 0.01 * history.loss.iloc[0]


@pytest.mark.parametrize("name,value", [("beta_exponent", 11), ("beta_exponent", -1), ("beta_exponent", 2.5),
                                        ("dcov_estimator", "exact")])
def test_bad_parameters_raise(name, value):
    x, s, blocks = toy_problem(16)
    with pytest.raises(ParameterError, match=name):
        FairDisco(2, blocks, **{name: value})


def test_bad_training_settings_raise():
    with pytest.raises(ParameterError, match="epochs"):
        train_loop([torch.nn.Parameter(torch.ones(1))], lambda b: {}, TensorDataset(torch.ones(2)), Training(epochs=0))
