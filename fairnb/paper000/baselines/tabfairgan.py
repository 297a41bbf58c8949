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
from fairnb.paper000.baselines.base import (batches, check_epochs, check_finite, check_training_input, restore_schema, start_sampling, stopwatch)
from fairnb.data import TabularDataset, TabularEncoder


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


class TabFairGAN:
    """TabFairGAN generator behind the ``SyntheticGenerator`` interface.

    Args:
        epochs: total epochs (the publication: 200 on Adult, 70 on COMPAS).
        fair_epochs: epochs of the fairness phase (the last ones); ``None`` = the publication's
            share, 15 % of ``epochs`` rounded up (30 of 200).
        lambda_fair: weight λ_f of the demographic-parity penalty; ``None`` = publication value
            for the dataset (Adult 0.5, COMPAS 2.2).
        seed: seeds weights, noise and batch order.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    name = "tabfairgan"

    def __init__(self, epochs: int = 200, fair_epochs: int | None = None, lambda_fair: float | None = None,
                 seed: int = 0, device: str = "auto"):
        self.epochs = check_epochs("tabfairgan_epochs", epochs)
        if fair_epochs is None:
            fair_epochs = math.ceil(hp.get("tabfairgan", "fair_fraction") * self.epochs)
        if isinstance(fair_epochs, bool) or not isinstance(fair_epochs, int) or not 0 <= fair_epochs <= self.epochs:
            from fairnb.errors import ParameterError
            raise ParameterError("fair_epochs", fair_epochs, f"an int in [0, epochs={self.epochs}]")
        self.fair_epochs = fair_epochs
        self.lambda_fair = lambda_fair
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.fit_seconds = float("nan")
        self.history: list[dict[str, float]] = []

    # ------------------------------------------------------------------ encoding
    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        numeric = self._quantiles.transform(frame[self._numeric].to_numpy(dtype=np.float64)) if self._numeric else np.zeros((len(frame), 0))
        categorical = self._onehot.transform(frame[self._categorical].astype(str))
        return np.concatenate([numeric, categorical], axis=1).astype(np.float32)

    def _decode(self, encoded: np.ndarray) -> pd.DataFrame:
        k = len(self._numeric)
        decoded = self._onehot.inverse_transform(encoded[:, k:])
        if k:
            values = self._quantiles.inverse_transform(np.clip(encoded[:, :k], 0.0, 1.0).astype(np.float64))
            for j, column in enumerate(self._numeric):
                decoded[column] = values[:, j]
        return restore_schema(decoded, self._dataset)

    # ------------------------------------------------------------------ training
    def fit(self, frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> "TabFairGAN":
        """Train on ``frame`` (rows of ``dataset.frame``); demographic parity w.r.t. ``sensitive``."""
        check_training_input(frame, dataset, sensitive)
        self._dataset, self.sensitive = dataset, sensitive
        lambda_fair = self.lambda_fair if self.lambda_fair is not None else hp.get("tabfairgan", "lambda_fair", dataset.name)
        batch_size = hp.get("tabfairgan", "batch_size")
        with stopwatch(self):
            torch.manual_seed(self.seed)
            rng = generator_for(self.seed, self.device)
            self._numeric = list(dataset.numeric)
            # Sensitive column(s) and target are ordinary categorical columns of the GAN.
            self._categorical = list(dataset.categorical) + list(dataset.sensitive) + [dataset.target]
            self._quantiles = QuantileTransformer(n_quantiles=min(hp.get("tabfairgan", "n_quantiles"), len(frame)),
                                                  output_distribution="uniform", random_state=self.seed)
            if self._numeric:
                self._quantiles.fit(frame[self._numeric].to_numpy(dtype=np.float64))
            self._onehot = TabularEncoder(self._categorical, []).fit(frame.astype({c: str for c in self._categorical}))
            data = torch.from_numpy(self._encode(frame)).to(self.device)
            width = data.shape[1]
            sizes = [b.width for b in self._onehot.blocks]
            self._generator = _Generator(width, len(self._numeric), sizes, hp.get("tabfairgan", "gumbel_tau")).to(self.device)
            critic = _Critic(width).to(self.device)
            # Columns of the sensitive attribute and the favourable label inside the encoded row.
            offset = len(self._numeric)
            blocks = {b.column: b for b in self._onehot.blocks}
            s_block, y_block = blocks[sensitive], blocks[dataset.target]
            privileged = offset + s_block.start + s_block.categories.index(str(dataset.privileged[sensitive]))
            unprivileged = [offset + s_block.start + i for i, c in enumerate(s_block.categories) if c != str(dataset.privileged[sensitive])][0]
            favourable = offset + y_block.start + y_block.categories.index("1")
            betas = hp.get("tabfairgan", "betas")
            opt_g = torch.optim.Adam(self._generator.parameters(), lr=hp.get("tabfairgan", "lr"), betas=betas)
            opt_g_fair = torch.optim.Adam(self._generator.parameters(), lr=hp.get("tabfairgan", "fair_lr"), betas=betas)
            opt_c = torch.optim.Adam(critic.parameters(), lr=hp.get("tabfairgan", "lr"), betas=betas)
            critic_steps, gp_weight = hp.get("tabfairgan", "critic_steps"), hp.get("tabfairgan", "gp_weight")
            self.history = []
            for epoch in range(self.epochs):
                started = time.perf_counter()
                fair_phase = epoch >= self.epochs - self.fair_epochs
                for step, index in enumerate(batches(len(data), batch_size, rng)):
                    real = data[index.to(self.device)]
                    for _ in range(critic_steps):
                        noise = torch.randn(len(real), width, device=self.device, generator=rng)
                        fake = self._generator(noise).detach()
                        critic_loss = critic(fake).mean() - critic(real).mean() + gp_weight * gradient_penalty(critic, real, fake, rng)
                        opt_c.zero_grad()
                        critic_loss.backward()
                        opt_c.step()
                    noise = torch.randn(len(real), width, device=self.device, generator=rng)
                    fake = self._generator(noise)
                    generator_loss = -critic(fake).mean()
                    disparity = torch.zeros((), device=self.device)
                    if fair_phase:
                        g_u, g_p, i_d = fake[:, unprivileged], fake[:, privileged], fake[:, favourable]
                        disparity = (g_u * i_d).mean() / g_u.sum() - (g_p * i_d).mean() / g_p.sum()
                        generator_loss = generator_loss - lambda_fair * disparity
                    check_finite(generator_loss, self.name, epoch, step)
                    optimiser = opt_g_fair if fair_phase else opt_g
                    optimiser.zero_grad()
                    generator_loss.backward()
                    optimiser.step()
                self.history.append({"epoch": epoch, "critic_loss": critic_loss.item(), "generator_loss": generator_loss.item(),
                                     "fair_phase": float(fair_phase), "disparity": disparity.item(),
                                     "seconds": time.perf_counter() - started})
        return self

    @torch.no_grad()
    def sample(self, n: int) -> pd.DataFrame:
        """``n`` synthetic records with the dataset's schema (seeded: same ``n`` → same rows)."""
        n, rng = start_sampling(self, "_generator", n, seed_offset=1)
        self._generator.eval()
        noise = torch.randn(n, self._generator.body[0].in_features, device=self.device, generator=rng)
        # gumbel_softmax draws from torch's global stream: seed it for reproducible samples.
        torch.manual_seed(self.seed + 1)
        encoded = self._generator(noise, hard=True).cpu().numpy()
        self._generator.train()
        return self._decode(encoded)
