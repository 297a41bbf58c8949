"""FairDisco decoded directly, and FLDGMs (Ramachandranpillai et al. 2023) with a diffusion model.

Both start from the stage-1 teacher of our own pipeline, ``fairnb.models.FairDisco`` (β = 1e7):

- ``FairDiscoGenerator`` ("FairDisco" row of Table 1): a synthetic record is the teacher's
  reconstruction x = D(z, s) with z ~ q(z | x, s) of a (seeded) training record; the record's
  sensitive value and target are copied, as in our method's stage 3.
- ``FLDGM`` ("FLDGMs (DM)" row): a 1-D Gaussian diffusion model (DDPM, Ho et al. 2020) is
  trained on the teacher's latent codes of the training records and new codes are sampled from
  it, then decoded by the teacher's fair decoder. Following the authors' ``run-FLDGM-dm.py``:
  codes mapped by (z + 1)/2 and back (the diffusion works on [−1, 1]), 1000 steps, cosine
  schedule, v-prediction with an L2 loss, the ``FairDiscoDiffusion`` denoiser (width 256; its
  one hidden block is applied twice, as in the original), Adam 1e-4, betas (0.9, 0.99), batch
  2048, x₀ clipped to [−1, 1] while sampling. Sampling uses 50 of the 1000 steps (respaced
  ancestral sampling, Nichol & Dhariwal 2021) to keep CPU time small. A generated code has no
  source record, but the decoder needs s and the evaluation needs a label: each code takes
  the sensitive value and target of the training record whose teacher code is nearest
  (Euclidean) — our choice, the authors' code stops at the latent samples.

Hyper-parameters: ``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["fldgm"]``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

import fairnb.data
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.nn.device import generator_for, resolve_device
from fairnb.paper000.baselines.base import (batches, check_epochs, check_finite, check_n, check_training_input, require_fitted, restore_schema, start_sampling, stopwatch)
from fairnb.data import TabularDataset
from fairnb.errors import ParameterError


class FairDiscoGenerator:
    """The stage-1 teacher (FairDisco) as a generator: reconstructions of training records.

    Args:
        epochs: teacher epochs (reference 1000).
        beta_exponent: β = 10**beta_exponent (reference 7).
        batch_size: teacher mini-batch (reference 2048; the posterior dCov² costs O(batch²)).
        seed, device: as everywhere.
    """

    name = "fairdisco"

    def __init__(self, epochs: int = 1000, beta_exponent: int = 7, batch_size: int = 2048, seed: int = 0, device: str = "auto"):
        self.epochs = check_epochs("fairdisco_epochs", epochs)
        self.batch_size = check_epochs("batch_size", batch_size)
        self.beta_exponent, self.seed = beta_exponent, int(seed)
        self.device = resolve_device(device)
        self.fit_seconds = float("nan")

    def fit(self, frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> "FairDiscoGenerator":
        from fairnb.paper000.fairdisco import FairDisco

        check_training_input(frame, dataset, sensitive)
        self._dataset, self.sensitive = dataset, sensitive
        with stopwatch(self):
            self.frame = frame.reset_index(drop=True)
            self.encoder = fairnb.data.encoder_for(dataset, scaling="standard").fit(self.frame)
            self.x = self.encoder.transform(self.frame)
            self.s = fairnb.data.group_codes(self.frame, dataset, sensitive)
            self.teacher = FairDisco(self.x.shape[1], self.encoder.blocks, s_dim=2, beta_exponent=self.beta_exponent,
                                     epochs=self.epochs, batch_size=self.batch_size, seed=self.seed,
                                     device=str(self.device)).fit(self.x, self.s)
        return self

    def _check_fitted(self) -> None:
        require_fitted(self, "teacher")

    @torch.no_grad()
    def latents(self) -> np.ndarray:
        """Teacher codes z ~ q(z | x, s) of the training records, (n, z_dim), seeded."""
        self._check_fitted()
        torch.manual_seed(self.seed + 2)
        return self.teacher.sample_latent(self.x, self.s).cpu().numpy()

    def decode(self, z: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        """Decode codes z (n, z_dim) with the s of training ``rows`` (n,); s and target are copied."""
        source = self.frame.iloc[rows].reset_index(drop=True)
        decoded = self.encoder.inverse_transform(self.teacher.decode(torch.as_tensor(z, dtype=torch.float32), self.s[rows]))
        out = source.copy()
        for column in decoded.columns:
            out[column] = decoded[column].to_numpy()
        return restore_schema(out, self._dataset)

    @torch.no_grad()
    def sample(self, n: int) -> pd.DataFrame:
        """``n`` reconstructions of seeded draws (with replacement) of the training records."""
        n = check_n(n)
        self._check_fitted()
        rows = np.random.default_rng(self.seed + 3).integers(0, len(self.frame), size=n)
        torch.manual_seed(self.seed + 3)
        z = self.teacher.sample_latent(self.x[rows], self.s[rows]).cpu().numpy()
        return self.decode(z, rows)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (n, dim) of integer timesteps t (n,) (``timestep_embedding_tab``)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class FairDiscoDenoiser(nn.Module):
    """FLDGM's ``FairDiscoDiffusion``: (x_t (n, d), t (n,)) → v prediction (n, d)."""

    def __init__(self, features: int, hidden: int = 256):
        super().__init__()
        self.hidden = hidden
        self.time_embed = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.linear1 = nn.Linear(features, hidden)
        # One block, applied twice in forward (as the original does).
        self.mlp = nn.Sequential(nn.BatchNorm1d(hidden), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(0.2))
        self.final_layer = nn.Linear(hidden, features)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.linear1(x) + self.time_embed(timestep_embedding(t, self.hidden))
        return self.final_layer(self.mlp(self.mlp(h)))


def cosine_alphas_cumprod(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """ᾱ_t, t = 1..T (T,), of the cosine schedule (Nichol & Dhariwal 2021), betas clipped to 0.999."""
    steps = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64)
    f = torch.cos(((steps / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    betas = torch.clip(1 - (f[1:] / f[:-1]), 0, 0.999)
    return torch.cumprod(1 - betas, dim=0)


class LatentDiffusion:
    """A 1-D Gaussian diffusion model of vectors in [−1, 1] (v-prediction, cosine schedule).

    Args:
        features: vector width d.
        timesteps: diffusion steps T of training.
        hidden: denoiser width.
        device: torch device.
    """

    def __init__(self, features: int, timesteps: int = 1000, hidden: int = 256, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.timesteps = timesteps
        self.model = FairDiscoDenoiser(features, hidden).to(self.device)
        self.alphas_cumprod = cosine_alphas_cumprod(timesteps).float().to(self.device)

    def loss(self, x0: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """MSE between the predicted and the true v at uniformly drawn timesteps (scalar)."""
        t = torch.randint(0, self.timesteps, (x0.shape[0],), device=self.device, generator=rng)
        noise = torch.randn(x0.shape, device=self.device, generator=rng)
        a = self.alphas_cumprod[t][:, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        v = a.sqrt() * noise - (1 - a).sqrt() * x0
        return ((self.model(x_t, t) - v) ** 2).mean()

    def fit(self, data: torch.Tensor, epochs: int, batch_size: int, lr: float, betas: tuple[float, float],
            rng: torch.Generator) -> list[float]:
        """Train on ``data`` (n, d) in [−1, 1]; returns the last loss of each epoch.

        Wall seconds of each epoch are kept in ``epoch_seconds``.
        """
        optimiser = torch.optim.Adam(self.model.parameters(), lr=lr, betas=betas)
        self.model.train()
        history = []
        self.epoch_seconds: list[float] = []
        for epoch in range(epochs):
            started = time.perf_counter()
            for step, index in enumerate(batches(len(data), batch_size, rng, drop_last=False)):
                loss = self.loss(data[index.to(self.device)], rng)
                check_finite(loss, "fldgm diffusion", epoch, step)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            history.append(loss.item())
            self.epoch_seconds.append(time.perf_counter() - started)
        return history

    @torch.no_grad()
    def sample(self, n: int, steps: int, rng: torch.Generator, clip: bool = True) -> torch.Tensor:
        """``n`` vectors (n, d) by ancestral sampling on ``steps`` evenly spaced timesteps."""
        self.model.eval()
        use = torch.linspace(0, self.timesteps - 1, min(steps, self.timesteps)).round().long().to(self.device)
        x = torch.randn(n, self.model.final_layer.out_features, device=self.device, generator=rng)
        for i in range(len(use) - 1, -1, -1):
            t = use[i]
            a_t = self.alphas_cumprod[t]
            a_prev = self.alphas_cumprod[use[i - 1]] if i > 0 else torch.ones((), device=self.device)
            v = self.model(x, t.repeat(n))
            x0 = a_t.sqrt() * x - (1 - a_t).sqrt() * v
            if clip:
                x0 = x0.clamp(-1.0, 1.0)
            if i == 0:
                x = x0
                break
            # Posterior q(x_{prev} | x_t, x0) of the respaced chain.
            beta = 1 - a_t / a_prev
            mean = (a_prev.sqrt() * beta / (1 - a_t)) * x0 + ((1 - beta).sqrt() * (1 - a_prev) / (1 - a_t)) * x
            variance = beta * (1 - a_prev) / (1 - a_t)
            x = mean + variance.clamp_min(1e-20).sqrt() * torch.randn(x.shape, device=self.device, generator=rng)
        self.model.train()
        return x


class FLDGM:
    """FLDGMs with a diffusion model in FairDisco's fair latent space (see module doc).

    Args:
        epochs: diffusion epochs (the authors: 5000).
        teacher_epochs: FairDisco epochs when no ``teacher`` is given.
        teacher: an already fitted ``FairDiscoGenerator`` on the same rows (its training time is
            added to ``fit_seconds``, since FLDGMs needs it).
        seed, device: as everywhere.
    """

    name = "fldgm"

    def __init__(self, epochs: int = 5000, teacher_epochs: int = 1000, teacher: FairDiscoGenerator | None = None,
                 teacher_batch_size: int = 2048, seed: int = 0, device: str = "auto"):
        self.epochs = check_epochs("fldgm_epochs", epochs)
        self.teacher_epochs = check_epochs("fairdisco_epochs", teacher_epochs)
        self.teacher_batch_size = check_epochs("batch_size", teacher_batch_size)
        self.teacher, self.seed = teacher, int(seed)
        self.device = resolve_device(device)
        self.fit_seconds = float("nan")
        self.stage_seconds: dict[str, float] = {}

    def fit(self, frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> "FLDGM":
        check_training_input(frame, dataset, sensitive)
        if self.teacher is None:
            self.teacher = FairDiscoGenerator(self.teacher_epochs, batch_size=self.teacher_batch_size, seed=self.seed,
                                              device=str(self.device)).fit(frame, dataset, sensitive)
        elif not hasattr(self.teacher, "teacher") or self.teacher.sensitive != sensitive or len(self.teacher.frame) != len(frame):
            raise ParameterError("teacher", "a FairDiscoGenerator", f"one fitted on the same {len(frame)} rows and sensitive={sensitive}", "mismatch")
        self._dataset, self.sensitive = dataset, sensitive
        with stopwatch(self, "diffusion_seconds"):
            rng = generator_for(self.seed + 4, self.device)
            torch.manual_seed(self.seed + 4)
            self.codes = self.teacher.latents()
            # FL maps z by (z + 1)/2 and the diffusion's auto-normalisation maps back: x = z.
            data = torch.as_tensor(self.codes, dtype=torch.float32, device=self.device)
            self.diffusion = LatentDiffusion(data.shape[1], hp.get("fldgm", "diffusion_steps"), hp.get("fldgm", "hidden"), self.device)
            self.history = self.diffusion.fit(data, self.epochs, hp.get("fldgm", "batch_size"), hp.get("fldgm", "lr"),
                                              hp.get("fldgm", "betas"), rng)
        self.stage_seconds = {"teacher": self.teacher.fit_seconds, "diffusion": self.diffusion_seconds}
        self.fit_seconds = self.teacher.fit_seconds + self.diffusion_seconds
        return self

    @torch.no_grad()
    def sample_codes(self, n: int) -> np.ndarray:
        """``n`` latent codes (n, z_dim) from the diffusion model (seeded)."""
        n, rng = start_sampling(self, "diffusion", n, seed_offset=5)
        return self.diffusion.sample(n, hp.get("fldgm", "sampling_steps"), rng).cpu().numpy()

    @torch.no_grad()
    def sample(self, n: int) -> pd.DataFrame:
        """``n`` records: sampled codes decoded with the s (and target) of the nearest training code."""
        z = self.sample_codes(n)
        codes = torch.as_tensor(self.codes, dtype=torch.float32, device=self.device)
        rows = torch.cat([torch.cdist(torch.as_tensor(z[i:i + 4096], device=self.device), codes).argmin(dim=1)
                          for i in range(0, len(z), 4096)]).cpu().numpy()
        return self.teacher.decode(z, rows)
