"""TabFairGAN (Rajabi & Garibay 2022): a WGAN-GP for tables with a demographic-parity phase.

Encoding (as the original code): numeric columns go through a ``QuantileTransformer`` to
uniform [0, 1]; categorical columns — the sensitive attribute and the target included — are
one-hot. A row becomes a vector of width d.

Networks: the generator maps noise (d) through Linear(d, d) → ReLU, then a ReLU head for the
numeric block and one gumbel-softmax head (τ = 0.2) per categorical column. The critic is
Linear(d, d) → LeakyReLU(0.2) → Linear(d, d) → LeakyReLU(0.2) → Linear(d, 1).

Training has two phases. Phase one (the first ``epochs − fair_epochs`` epochs) is plain
WGAN-GP: 4 critic steps per generator step, gradient penalty 10, Adam 2e-4. Phase two adds the
demographic-parity penalty to the generator loss,

    L_G = −mean C(G(z)) − λ_f · [ mean(G_u · I_d) / Σ G_u − mean(G_p · I_d) / Σ G_p ],

where G_u / G_p are the generated (soft) one-hot entries of the unprivileged / privileged group
and I_d the entry of the favourable label; the generator then uses Adam 1e-4. Hyper-parameters:
``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["tabfairgan"]``.
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
from fairnb.nn.losses import gradient_penalty
from fairnb.nn.device import generator_for, resolve_device
from fairnb.paper000.baselines.base import (Settings, batches, check_epochs, check_finite, check_float, check_seed,
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
    """Encoded row (batch, d) → score (batch, 1)."""

    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                                 nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TabFairGAN(Settings):
    """TabFairGAN generator behind the ``SyntheticGenerator`` interface.

    Args:
        epochs: total epochs (the publication: 200 on Adult, 70 on COMPAS).
        fair_epochs: epochs of the fairness phase (the last ones); ``None`` = the publication's
            share, 15 % of ``epochs`` rounded up (30 of 200).
        lambda_fair: weight λ_f of the demographic-parity penalty; ``None`` = publication value
            for the dataset (Adult 0.5, COMPAS 2.2).
        seed: seeds weights, noise and batch order.
        device: ``auto``, ``cpu`` or ``cuda``.

    Fitted attributes: ``generator_`` (the network), ``history_`` (one dict per epoch),
    ``fit_seconds_``, ``fair_epochs_`` and ``lambda_fair_`` (the values used), ``dataset_``,
    ``sensitive_``, ``device_`` and the encoding (``numeric_``, ``categorical_``, ``quantiles_``,
    ``onehot_``).
    """

    name = "tabfairgan"

    def __init__(self, epochs: int = 200, fair_epochs: int | None = None, lambda_fair: float | None = None,
                 seed: int = 0, device: str = "auto"):
        self.epochs, self.fair_epochs, self.lambda_fair = epochs, fair_epochs, lambda_fair
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
            width = data.shape[1]
            sizes = [b.width for b in self.onehot_.blocks]
            generator = _Generator(width, len(self.numeric_), sizes, hp.get("tabfairgan", "gumbel_tau")).to(device)
            critic = _Critic(width).to(device)
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
                for step, index in enumerate(batches(len(data), batch_size, rng)):
                    real = data[index.to(device)]
                    for _ in range(critic_steps):
                        noise = torch.randn(len(real), width, device=device, generator=rng)
                        fake = generator(noise).detach()
                        critic_loss = critic(fake).mean() - critic(real).mean() + gp_weight * gradient_penalty(critic, real, fake, rng)
                        opt_c.zero_grad()
                        critic_loss.backward()
                        opt_c.step()
                    noise = torch.randn(len(real), width, device=device, generator=rng)
                    fake = generator(noise)
                    generator_loss = -critic(fake).mean()
                    disparity = torch.zeros((), device=device)
                    if fair_phase:
                        g_u, g_p, i_d = fake[:, unprivileged], fake[:, privileged], fake[:, favourable]
                        disparity = (g_u * i_d).mean() / g_u.sum() - (g_p * i_d).mean() / g_p.sum()
                        generator_loss = generator_loss - lambda_fair * disparity
                    check_finite(generator_loss, self.name, epoch, step)
                    optimiser = opt_g_fair if fair_phase else opt_g
                    optimiser.zero_grad()
                    generator_loss.backward()
                    optimiser.step()
                history.append({"epoch": epoch, "critic_loss": critic_loss.item(), "generator_loss": generator_loss.item(),
                                "fair_phase": float(fair_phase), "disparity": disparity.item(),
                                "seconds": time.perf_counter() - started})
            self.generator_, self.history_ = generator, history
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
