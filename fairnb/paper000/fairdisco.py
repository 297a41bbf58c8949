"""Stage 1 of paper 000: FairDisco, a conditional VAE whose latent code is penalised for
depending on the sensitive attribute (Liu et al. 2022).

Encoder E(x, s) → (μ, logvar), z = μ + ε·σ; decoder D(z, s) → x̂. The one-hot group code s is
concatenated to both inputs (reference: hidden width 64, z_dim 8). Loss per batch:

    Σ_blocks reconstruction (cross-entropy per categorical block, MSE per numeric column)
    + KL(q(z|x,s) ‖ N(0, I)) + β · V²(z, s),        β = 10**beta_exponent,

with V² either the exact sample distance covariance (``dcov_estimator="sample"``) or the
reference's posterior estimator (``"posterior"``, the default); see ``fairnb.metrics.dcov``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from fairnb.data import Block
from fairnb.errors import ParameterError, one_of
from fairnb.metrics.dcov import dcov2, posterior_dcov2
from fairnb.nn.train import Convergence, Training, convergence, reparameterise, resolve_stopping, train_vae, validation_split

DCOV_ESTIMATORS = ("sample", "posterior")
BETA_EXPONENTS = tuple(range(0, 11))


class MLPEncoder(nn.Module):
    """(x (n, x_dim), s (n,) int codes) → (mean, logvar), each (n, z_dim). Linear → ReLU → Linear."""

    def __init__(self, x_dim: int, s_dim: int = 2, h_dim: int = 64, z_dim: int = 8):
        super().__init__()
        self.s_dim, self.z_dim = s_dim, z_dim
        self.net = nn.Sequential(nn.Linear(x_dim + s_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, 2 * z_dim))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(torch.cat([x, F.one_hot(s.long(), self.s_dim).to(x.dtype)], dim=1))
        return h[:, :self.z_dim], h[:, self.z_dim:]


class MLPDecoder(nn.Module):
    """(z (n, z_dim), s (n,) int codes) → x̂ (n, x_dim): logits per categorical block, values per numeric column."""

    def __init__(self, z_dim: int, x_dim: int, s_dim: int = 2, h_dim: int = 64):
        super().__init__()
        self.s_dim = s_dim
        self.net = nn.Sequential(nn.Linear(z_dim + s_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, x_dim))

    def forward(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, F.one_hot(s.long(), self.s_dim).to(z.dtype)], dim=1))


class BlockReconstruction:
    """Reconstruction loss for a ``TabularEncoder`` layout, as ``loss(x_hat, x)``: Σ over categorical
    blocks of the cross-entropy between the block's logits and the one-hot target's category (mean over
    rows, as in the reference), plus Σ over numeric columns of the squared error (mean over rows).
    A class, not a closure, so a fitted teacher pickles."""

    def __init__(self, blocks: Sequence[Block]):
        if not blocks:
            raise ParameterError("blocks", blocks, "the blocks of a fitted TabularEncoder", "empty")
        self.categorical = [b.slice for b in blocks if b.kind == "categorical"]
        self.numeric = [b.start for b in blocks if b.kind == "numeric"]

    def __call__(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        total = x_hat.new_zeros(())
        for cut in self.categorical:
            total = total + F.cross_entropy(x_hat[:, cut], x[:, cut].argmax(1))
        if self.numeric:
            total = total + F.mse_loss(x_hat[:, self.numeric], x[:, self.numeric], reduction="none").sum(1).mean()
        return total


def block_reconstruction(blocks: Sequence[Block]) -> BlockReconstruction:
    """The reconstruction loss of a ``TabularEncoder`` layout (``BlockReconstruction``)."""
    return BlockReconstruction(blocks)


def fairness_term(estimator: str, s_dim: int, batch_size: int) -> Callable[..., torch.Tensor]:
    """The dependence penalty V²(z, s) as ``term(mean, logvar, z, s)`` for ``train_vae``."""
    if estimator not in DCOV_ESTIMATORS:
        raise ParameterError("dcov_estimator", estimator, one_of(DCOV_ESTIMATORS))
    if estimator == "sample":
        return lambda mean, logvar, z, s: dcov2(z, F.one_hot(s.long(), s_dim).to(z.dtype))
    return lambda mean, logvar, z, s: posterior_dcov2(mean, logvar, s, s_dim, nominal_batch=batch_size)


def check_beta_exponent(value: int) -> int:
    """β = 10**value; the reference sweeps the integer exponents 0..10 (default 7)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value not in BETA_EXPONENTS:
        raise ParameterError("beta_exponent", value, "an int in 0..10 (β = 10**beta_exponent)")
    return int(value)


class FairDisco:
    """The stage-1 teacher: fit on encoded features and group codes, then encode / decode.

    Args:
        x_dim: encoded feature width (``TabularEncoder.width``).
        blocks: the encoder's blocks (define the reconstruction loss); ``reconstruction`` may
            replace them for non-tabular data (e.g. images with a convolutional pair).
        s_dim: number of sensitive groups.
        beta_exponent: β = 10**beta_exponent, int 0..10 (reference default 7). The penalty
            enters the loss only when β > 1, as in the reference.
        dcov_estimator: ``posterior`` (reference) or ``sample`` (exact V-statistic).
        encoder, decoder: optional networks with the ``train_vae`` contract (default MLPs).
        patience, min_delta, validation_fraction: the stopping rule (``fairnb.nn.train.StoppingRule``;
            None: a fixed budget, nothing held out; a study passes its ``fairnb.nn.train.TrainingRule``).
            ``validation_fraction`` of the rows is held out (seeded); with ``patience`` > 0 training
            stops once the validation loss has not improved by ``min_delta`` (relative) for
            ``patience`` epochs (``epochs`` is then the budget) and keeps the best epoch.
        progress: a progress bar over epochs (None: inside notebooks only).
    """

    def __init__(self, x_dim: int, blocks: Sequence[Block] | None = None, s_dim: int = 2, h_dim: int = 64, z_dim: int = 8,
                 beta_exponent: int = 7, dcov_estimator: str = "posterior", epochs: int = 1000, batch_size: int = 2048,
                 lr: float = 1e-3, seed: int = 0, device: str = "cpu",
                 encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                 reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 patience: int | None = None, min_delta: float | None = None, validation_fraction: float | None = None,
                 progress: bool | None = None):
        self.beta_exponent = check_beta_exponent(beta_exponent)
        if dcov_estimator not in DCOV_ESTIMATORS:
            raise ParameterError("dcov_estimator", dcov_estimator, one_of(DCOV_ESTIMATORS))
        if reconstruction is None and blocks is None:
            raise ParameterError("blocks", None, "the TabularEncoder blocks, or a reconstruction callable", "missing")
        self.rule, validation_fraction = resolve_stopping(epochs, patience, min_delta, validation_fraction)
        patience, min_delta = self.rule.patience, self.rule.min_delta
        self.dcov_estimator, self.s_dim, self.z_dim = dcov_estimator, s_dim, z_dim
        self.epochs, self.batch_size, self.lr, self.seed, self.device = epochs, batch_size, lr, seed, device
        self.patience, self.min_delta, self.validation_fraction, self.progress = patience, min_delta, validation_fraction, progress
        torch.manual_seed(seed)  # network initialisation depends on the seed only
        self.encoder = encoder if encoder is not None else MLPEncoder(x_dim, s_dim, h_dim, z_dim)
        self.decoder = decoder if decoder is not None else MLPDecoder(z_dim, x_dim, s_dim, h_dim)
        self.reconstruction = reconstruction if reconstruction is not None else block_reconstruction(blocks)
        self.history: pd.DataFrame | None = None
        self.convergence: Convergence | None = None

    @property
    def beta(self) -> float:
        return 10.0 ** self.beta_exponent

    def fit(self, x: np.ndarray, s: np.ndarray) -> "FairDisco":
        """Train on features x (n, x_dim) float32 and group codes s (n,) int; history in ``self.history``.

        With ``validation_fraction`` > 0 a seeded share of the rows is held out: the loss terms are
        evaluated on it after every epoch (``val_*`` columns) and, with ``patience`` > 0, training
        stops once the validation loss stops improving (``fairnb.nn.train.StoppingRule``).
        ``self.convergence`` says how the run ended.
        """
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        s = torch.as_tensor(np.asarray(s), dtype=torch.long)
        fit_rows, held_rows = validation_split(len(x), self.validation_fraction, self.seed)
        validation = (x[held_rows], s[held_rows]) if len(held_rows) else None
        training = Training(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=self.device,
                            patience=self.patience, min_delta=self.min_delta)
        self.history = train_vae(self.encoder, self.decoder, (x[fit_rows], s[fit_rows]), self.reconstruction, training,
                                 fairness=fairness_term(self.dcov_estimator, self.s_dim, self.batch_size), beta=self.beta,
                                 validation=validation, progress_desc="FairDisco teacher", show_progress=self.progress)
        self.convergence = convergence(self.history)
        return self

    @torch.no_grad()
    def encode(self, x: np.ndarray | torch.Tensor, s: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (mean, logvar), each (n, z_dim), as tensors on the model's device."""
        self.encoder.eval()
        x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, torch.Tensor) else x).to(self.device)
        s = torch.as_tensor(s if isinstance(s, torch.Tensor) else np.asarray(s), dtype=torch.long).to(self.device)
        return self.encoder(x, s)

    @torch.no_grad()
    def sample_latent(self, x, s) -> torch.Tensor:
        """z ~ q(z | x, s), shape (n, z_dim), drawn with torch's global RNG."""
        return reparameterise(*self.encode(x, s))

    @torch.no_grad()
    def decode(self, z: torch.Tensor, s) -> np.ndarray:
        """Decoder output (n, x_dim) as a float32 array (logits per categorical block)."""
        self.decoder.eval()
        s = torch.as_tensor(s if isinstance(s, torch.Tensor) else np.asarray(s), dtype=torch.long).to(self.device)
        return self.decoder(z.to(self.device), s).cpu().numpy()

    def parameter_count(self) -> dict[str, int]:
        """Number of trainable parameters of the encoder and of the decoder."""
        return {"encoder": sum(p.numel() for p in self.encoder.parameters()),
                "decoder": sum(p.numel() for p in self.decoder.parameters())}
