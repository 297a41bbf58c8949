"""TabFairGAN (Rajabi & Garibay 2022): a WGAN-GP for tables with a demographic-parity phase.

Follows the authors' code line by line (``TabFairGAN.py`` of their repository, the same code as
their PyPI package ``tabfairgan`` 0.1.0; ``fairnb.paper000.baselines.peers`` compares the two):

Encoding: numeric columns go through a ``QuantileTransformer`` to uniform [0, 1]; categorical
columns — the sensitive attribute and the target included — are one-hot. A row becomes a vector
of width d.

Networks: the generator maps noise (d) through Linear(d, d) → ReLU, then a ReLU head for the
numeric block and one gumbel-softmax head (τ = 0.2) per categorical column. The critic is
Linear(d, d) → LeakyReLU → Linear(d, d) → LeakyReLU (slope 0.01, PyTorch's default) with **d
outputs, not one**: every loss averages the critic's (batch, d) output, and the gradient penalty
takes the gradient of the sum of a row's d outputs, at points mixed **per entry** between a real
and a fake row (x̂ = ε ⊙ x + (1 − ε) ⊙ x̃, ε ~ U(0, 1)^(batch × d)):

    L_C = mean C(x̃) − mean C(x) + 10 · mean_rows (‖∇_x̂ Σ_j C_j(x̂)‖₂ − 1)².

Training has two phases. Phase one (the first ``epochs − fair_epochs`` epochs) is plain
WGAN-GP: 4 critic steps per generator step on the same real batch, Adam 2e-4, betas (0.5,
0.999). Phase two adds the demographic-parity penalty to the generator loss,

    L_G = −mean C(G(z)) − λ_f · [ mean(G_u · I_d) / Σ G_u − mean(G_p · I_d) / Σ G_p ],

where G_u / G_p are the generated (soft) one-hot entries of the unprivileged / privileged group
and I_d the entry of the favourable label, all from the generator's batch; the generator then
uses its own Adam, lr 1e-4. The rows are shuffled once and visited in the same batch order every
epoch, the last short batch dropped (the authors' ``DataLoader``).

One difference, kept as an option: the authors set 10 % of the rows aside
(``train_test_split(test_size=0.1)``) and never use them; ``holdout`` does the same, but is 0 by
default so that every method of the comparison learns from the same training rows.
Hyper-parameters: ``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["tabfairgan"]``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from sklearn.preprocessing import QuantileTransformer

from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.nn.device import generator_for, resolve_device
from fairnb.paper000.baselines.base import (Settings, check_epochs, check_finite, check_float, check_seed,
                                            check_training_input, restore_schema, start_sampling, stopwatch)
from fairnb.data import TabularDataset, TabularEncoder
from fairnb.errors import ParameterError


class _Generator(nn.Module):
    """Noise (batch, d) → encoded row (batch, d): numeric block first, then categorical blocks."""

    def __init__(self, width: int, n_numeric: int, category_sizes: list[int], tau: float):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.ReLU())
        self.numeric = nn.Linear(width, n_numeric) if n_numeric else None
        self.heads = nn.ModuleList(nn.Linear(width, k) for k in category_sizes)
        self.tau = tau

    def forward(self, noise: torch.Tensor, hard: bool = False) -> torch.Tensor:
        h = self.body(noise)
        parts = [F.relu(self.numeric(h))] if self.numeric is not None else []
        parts += [F.gumbel_softmax(head(h), tau=self.tau, hard=hard) for head in self.heads]
        return torch.cat(parts, dim=1)


class _Critic(nn.Module):
    """Encoded row (batch, d) → scores (batch, d); the losses average all of them (authors' ``Critic``)."""

    def __init__(self, width: int, slope: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(slope), nn.Linear(width, width), nn.LeakyReLU(slope))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def gradient_penalty_per_entry(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """mean over rows of (‖∇_x̂ Σ_j C_j(x̂)‖₂ − 1)² at x̂ = ε ⊙ real + (1 − ε) ⊙ fake, ε ~ U(0, 1) per entry
    (the authors' ``get_gradient`` / ``gradient_penalty``); ``real`` and ``fake`` are (batch, d)."""
    epsilon = torch.rand(real.shape, device=real.device, generator=rng)
    mixed = (real * epsilon + fake * (1 - epsilon)).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((gradient.norm(2, dim=1) - 1) ** 2).mean()


def critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator, gp_weight: float) -> torch.Tensor:
    """L_C = mean C(fake) − mean C(real) + gp_weight · gradient penalty (the authors' ``get_crit_loss``)."""
    return critic(fake).mean() - critic(real).mean() + gp_weight * gradient_penalty_per_entry(critic, real, fake, rng)


def disparity(fake: torch.Tensor, unprivileged: int, privileged: int, favourable: int) -> torch.Tensor:
    """mean(G_u · I_d) / Σ G_u − mean(G_p · I_d) / Σ G_p over a generated batch (n, d): the columns of
    the unprivileged and privileged group and of the favourable label (the authors' ``FairLossFunc``)."""
    g_u, g_p, i_d = fake[:, unprivileged], fake[:, privileged], fake[:, favourable]
    return (g_u * i_d).mean() / g_u.sum() - (g_p * i_d).mean() / g_p.sum()


def batches_in_order(n: int, batch_size: int) -> list[torch.Tensor]:
    """Index batches 0..n−1 in order, the last short batch dropped (kept when it is the only one)."""
    parts = list(torch.arange(n).split(batch_size))
    if len(parts) > 1 and len(parts[-1]) < batch_size:
        parts = parts[:-1]
    return parts


class TabFairGAN(Settings):
    """TabFairGAN generator behind the ``SyntheticGenerator`` interface.

    Args:
        epochs: total epochs (the publication: 200 on Adult, 70 on COMPAS).
        fair_epochs: epochs of the fairness phase (the last ones); ``None`` = the publication's
            share, 15 % of ``epochs`` rounded up (30 of 200).
        lambda_fair: weight λ_f of the demographic-parity penalty; ``None`` = publication value
            for the dataset (Adult 0.5, COMPAS 2.2).
        holdout: share of the training rows set aside unused, in [0, 0.5) (the authors' code:
            0.1; default 0, see module doc).
        seed: seeds weights, noise, the held-out rows and the batch order.
        device: ``auto``, ``cpu`` or ``cuda``.

    Fitted attributes: ``generator_`` and ``critic_`` (the networks), ``history_`` (one dict per epoch),
    ``fairness_columns_`` (encoded columns of the unprivileged and privileged group and of the
    favourable label), ``training_rows_`` (rows trained on, after ``holdout``),
    ``fit_seconds_``, ``fair_epochs_`` and ``lambda_fair_`` (the values used), ``dataset_``,
    ``sensitive_``, ``device_`` and the encoding (``numeric_``, ``categorical_``, ``quantiles_``,
    ``onehot_``).
    """

    name = "tabfairgan"

    def __init__(self, epochs: int = 200, fair_epochs: int | None = None, lambda_fair: float | None = None,
                 holdout: float = 0.0, seed: int = 0, device: str = "auto"):
        self.epochs, self.fair_epochs, self.lambda_fair, self.holdout = epochs, fair_epochs, lambda_fair, holdout
        self.seed, self.device = seed, device

    def _check_params(self) -> int:
        """Validate the settings; return the number of fair epochs."""
        epochs = check_epochs("epochs", self.epochs)
        fair_epochs = self.fair_epochs
        if fair_epochs is None:
            fair_epochs = math.ceil(hp.get("tabfairgan", "fair_fraction") * epochs)
        if isinstance(fair_epochs, bool) or not isinstance(fair_epochs, (int, np.integer)) or not 0 <= fair_epochs <= epochs:
            raise ParameterError("fair_epochs", self.fair_epochs, f"None or an int in [0, epochs={epochs}]")
        check_float("lambda_fair", self.lambda_fair, 0.0, optional=True)
        if check_float("holdout", self.holdout, 0.0) >= 0.5:
            raise ParameterError("holdout", self.holdout, "a float in [0, 0.5)")
        check_seed(self.seed)
        return int(fair_epochs)

    # ------------------------------------------------------------------ encoding
    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        numeric = self.quantiles_.transform(frame[self.numeric_].to_numpy(dtype=np.float64)) if self.numeric_ else np.zeros((len(frame), 0))
        categorical = self.onehot_.transform(frame[self.categorical_].astype(str))
        return np.concatenate([numeric, categorical], axis=1).astype(np.float32)

    def _decode(self, encoded: np.ndarray) -> pd.DataFrame:
        k = len(self.numeric_)
        decoded = self.onehot_.inverse_transform(encoded[:, k:])
        if k:
            values = self.quantiles_.inverse_transform(np.clip(encoded[:, :k], 0.0, 1.0).astype(np.float64))
            for j, column in enumerate(self.numeric_):
                decoded[column] = values[:, j]
        return restore_schema(decoded, self.dataset_)

    # ------------------------------------------------------------------ training
    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "TabFairGAN":
        """Train on ``frame`` (rows of ``dataset.frame``); demographic parity w.r.t. ``sensitive``."""
        self.fair_epochs_ = fair_epochs = self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.device_ = device = resolve_device(self.device)
        self.dataset_, self.sensitive_ = dataset, sensitive
        self.lambda_fair_ = lambda_fair = (float(self.lambda_fair) if self.lambda_fair is not None
                                           else hp.get("tabfairgan", "lambda_fair", dataset.name))
        batch_size = hp.get("tabfairgan", "batch_size")
        with stopwatch(self):
            torch.manual_seed(self.seed)
            rng = generator_for(self.seed, device)
            self.numeric_ = list(dataset.numeric)
            # Sensitive column(s) and target are ordinary categorical columns of the GAN.
            self.categorical_ = list(dataset.categorical) + list(dataset.sensitive) + [dataset.target]
            self.quantiles_ = QuantileTransformer(n_quantiles=min(hp.get("tabfairgan", "n_quantiles"), len(frame)),
                                                  output_distribution="uniform", random_state=self.seed)
            if self.numeric_:
                self.quantiles_.fit(frame[self.numeric_].to_numpy(dtype=np.float64))
            self.onehot_ = TabularEncoder(self.categorical_, []).fit(frame.astype({c: str for c in self.categorical_}))
            data = torch.from_numpy(self._encode(frame)).to(device)
            # One shuffle: the authors' train_test_split(shuffle=True), then a DataLoader without
            # shuffling visits the same batches in the same order every epoch.
            order = torch.randperm(len(data), generator=rng, device=rng.device).cpu()
            kept = len(data) - math.ceil(float(self.holdout) * len(data)) if self.holdout else len(data)
            data = data[order[:max(kept, 2)].to(device)]
            self.training_rows_ = len(data)
            epoch_batches = batches_in_order(len(data), batch_size)
            width = data.shape[1]
            sizes = [b.width for b in self.onehot_.blocks]
            generator = _Generator(width, len(self.numeric_), sizes, hp.get("tabfairgan", "gumbel_tau")).to(device)
            critic = _Critic(width, hp.get("tabfairgan", "critic_slope")).to(device)
            # Columns of the sensitive attribute and the favourable label inside the encoded row.
            offset = len(self.numeric_)
            blocks = {b.column: b for b in self.onehot_.blocks}
            s_block, y_block = blocks[sensitive], blocks[dataset.target]
            privileged = offset + s_block.start + s_block.categories.index(str(dataset.privileged[sensitive]))
            unprivileged = [offset + s_block.start + i for i, c in enumerate(s_block.categories) if c != str(dataset.privileged[sensitive])][0]
            favourable = offset + y_block.start + y_block.categories.index("1")
            betas = hp.get("tabfairgan", "betas")
            opt_g = torch.optim.Adam(generator.parameters(), lr=hp.get("tabfairgan", "lr"), betas=betas)
            opt_g_fair = torch.optim.Adam(generator.parameters(), lr=hp.get("tabfairgan", "fair_lr"), betas=betas)
            opt_c = torch.optim.Adam(critic.parameters(), lr=hp.get("tabfairgan", "lr"), betas=betas)
            critic_steps, gp_weight = hp.get("tabfairgan", "critic_steps"), hp.get("tabfairgan", "gp_weight")
            history = []
            for epoch in range(self.epochs):
                started = time.perf_counter()
                fair_phase = epoch >= self.epochs - fair_epochs
                for step, index in enumerate(epoch_batches):
                    real = data[index.to(device)]
                    for _ in range(critic_steps):
                        noise = torch.randn(len(real), width, device=device, generator=rng)
                        fake = generator(noise).detach()
                        loss_c = critic_loss(critic, real, fake, rng, gp_weight)
                        opt_c.zero_grad()
                        loss_c.backward()
                        opt_c.step()
                    noise = torch.randn(len(real), width, device=device, generator=rng)
                    fake = generator(noise)
                    generator_loss = -critic(fake).mean()
                    gap = torch.zeros((), device=device)
                    if fair_phase:
                        gap = disparity(fake, unprivileged, privileged, favourable)
                        generator_loss = generator_loss - lambda_fair * gap
                    check_finite(generator_loss, self.name, epoch, step)
                    optimiser = opt_g_fair if fair_phase else opt_g
                    optimiser.zero_grad()
                    generator_loss.backward()
                    optimiser.step()
                history.append({"epoch": epoch, "critic_loss": loss_c.item(), "generator_loss": generator_loss.item(),
                                "fair_phase": float(fair_phase), "disparity": gap.item(),
                                "seconds": time.perf_counter() - started})
            self.generator_, self.critic_, self.history_ = generator, critic, history
            self.fairness_columns_ = {"unprivileged": unprivileged, "privileged": privileged, "favourable": favourable}
        return self

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records with the dataset's schema (seeded: same ``n`` and ``seed`` → same rows;
        ``seed=None`` uses ``self.seed + 1``)."""
        n, seed, rng = start_sampling(self, "generator_", n, seed, seed_offset=1)
        self.generator_.eval()
        noise = torch.randn(n, self.generator_.body[0].in_features, device=self.device_, generator=rng)
        # gumbel_softmax draws from torch's global stream: seed it for reproducible samples.
        torch.manual_seed(seed)
        encoded = self.generator_(noise, hard=True).cpu().numpy()
        self.generator_.train()
        return self._decode(encoded)
