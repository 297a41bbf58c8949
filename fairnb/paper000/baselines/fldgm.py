"""FairDisco decoded directly, and FLDGMs (Ramachandranpillai et al. 2023) with a diffusion model.

Both start from the stage-1 teacher of our own pipeline, ``fairnb.models.FairDisco`` (β = 1e7):

- ``FairDiscoGenerator`` ("FairDisco" row of Table 1): a synthetic record is decoded by the teacher
  from z ~ q(z | x, s) of a (seeded) training record, built as our method's stage 3 builds its records
  (``fairnb.paper000.construction.decode_records``: by default decoded as a random group written into
  the sensitive column, the source's label kept).
- ``FLDGM`` ("FLDGMs (DM)" row): a 1-D Gaussian diffusion model (DDPM, Ho et al. 2020) is
  trained on the teacher's latent codes of the training records and new codes are sampled from
  it, then decoded by the teacher's fair decoder. Following the authors' ``run-FLDGM-dm.py``:
  codes mapped by (z + 1)/2 and back (the diffusion works on [−1, 1]), 1000 steps, cosine
  schedule, v-prediction with an L2 loss, the ``FairDiscoDiffusion`` denoiser (width 256; its
  one hidden block is applied twice, as in the original), Adam 1e-4, betas (0.9, 0.99), batch
  2048, x₀ clipped to [−1, 1] while sampling. Sampling uses 50 of the 1000 steps (respaced
  ancestral sampling, Nichol & Dhariwal 2021) to keep CPU time small. A generated code has no
  source record, but the evaluation needs a label: each code takes the target of the training
  record whose teacher code is nearest (Euclidean) — our choice, the authors' code stops at the
  latent samples — and is decoded by the same construction as every other paper-000 row (a random
  group by default; the nearest record's group in the ``source_group`` ablation).

Hyper-parameters: ``fairnb.paper000.baselines.hyperparameters.HYPERPARAMETERS["fldgm"]``.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

import fairnb.data
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.construction import check_construction, decode_records
from fairnb.nn.device import generator_for, resolve_device
from fairnb.nn import losses as losses_module, train as train_module
from fairnb.nn.store import ModelStore, array_checksum
from fairnb.nn.train import Convergence, EarlyStopping, progress, resolve_stopping, validation_split
from fairnb.paper000.baselines.base import (Settings, batches, check_epochs, check_finite, check_n, check_seed, check_training_input,
                                            require_fitted, restore_schema, sampling_seed, start_sampling, stopwatch)
from fairnb.data import TabularDataset
from fairnb.errors import ParameterError


# the source files that define a trained FLDGMs diffusion model (part of its model-store key)
FLDGM_SOURCES = (__file__, hp.__file__, train_module.__file__)


class FairDiscoGenerator(Settings):
    """The stage-1 teacher (FairDisco) as a generator: reconstructions of training records.

    Args:
        epochs: teacher epochs (reference 1000).
        beta_exponent: β = 10**beta_exponent (reference 7).
        batch_size: teacher mini-batch (reference 2048; the posterior dCov² costs O(batch²)).
        seed, device: as everywhere.
        patience, min_delta, validation_fraction: the teacher's stopping rule (``FairDisco``; None:
            a fixed budget, nothing held out; a study passes its ``fairnb.nn.train.TrainingRule``).
        construction, categorical_decoding: how a record is built from a code
            (``fairnb.paper000.construction``; defaults: ``random_group``, ``sample``).

    Always trains afresh (timing studies rely on it); ``FairLatentDistillation`` reuses stored teachers.

    Fitted attributes: ``teacher_`` (the trained ``FairDisco``; its per-epoch history in
    ``teacher_.history``), ``learning_curve_`` (that history), ``convergence_`` (how it ended),
    ``encoder_`` (feature encoding), ``frame_`` (the training rows),
    ``x_`` and ``s_`` (their encoded features and group codes), ``fit_seconds_``, ``dataset_``,
    ``sensitive_``, ``device_``.
    """

    name = "fairdisco"

    def __init__(self, epochs: int = 1000, beta_exponent: int = 7, batch_size: int = 2048, seed: int = 0, device: str = "auto",
                 patience: int | None = None, min_delta: float | None = None, validation_fraction: float | None = None,
                 construction: str = "random_group", categorical_decoding: str = "sample"):
        self.epochs, self.beta_exponent, self.batch_size, self.seed, self.device = epochs, beta_exponent, batch_size, seed, device
        self.patience, self.min_delta, self.validation_fraction = patience, min_delta, validation_fraction
        self.construction, self.categorical_decoding = construction, categorical_decoding

    def _check_params(self) -> None:
        from fairnb.paper000.fairdisco import check_beta_exponent

        check_epochs("epochs", self.epochs)
        check_epochs("batch_size", self.batch_size)
        check_beta_exponent(self.beta_exponent)
        check_seed(self.seed)
        check_construction(self.construction, self.categorical_decoding)
        self.rule_, self.validation_fraction_ = resolve_stopping(self.epochs, self.patience, self.min_delta, self.validation_fraction)

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "FairDiscoGenerator":
        from fairnb.paper000.fairdisco import FairDisco

        self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.device_ = resolve_device(self.device)
        self.dataset_, self.sensitive_ = dataset, sensitive
        with stopwatch(self):
            self.frame_ = frame.reset_index(drop=True)
            self.encoder_ = fairnb.data.encoder_for(dataset, scaling="standard").fit(self.frame_)
            self.x_ = self.encoder_.transform(self.frame_)
            self.s_ = fairnb.data.group_codes(self.frame_, dataset, sensitive)
            self.teacher_ = FairDisco(self.x_.shape[1], self.encoder_.blocks, s_dim=2, beta_exponent=self.beta_exponent,
                                      epochs=self.epochs, batch_size=self.batch_size, seed=self.seed,
                                      device=str(self.device_), patience=self.rule_.patience, min_delta=self.rule_.min_delta,
                                      validation_fraction=self.validation_fraction_).fit(self.x_, self.s_)
        self.learning_curve_, self.convergence_ = self.teacher_.history, self.teacher_.convergence
        return self

    @torch.no_grad()
    def latents(self) -> np.ndarray:
        """Teacher codes z ~ q(z | x, s) of the training records, (n, z_dim), seeded."""
        require_fitted(self, "teacher_")
        torch.manual_seed(self.seed + 2)
        return self.teacher_.sample_latent(self.x_, self.s_).cpu().numpy()

    def decode(self, z: np.ndarray, rows: np.ndarray, *, seed: int, construction: str | None = None,
               categorical_decoding: str | None = None) -> pd.DataFrame:
        """Records decoded from codes z (n, z_dim), with the target of training ``rows`` (n,)
        (``fairnb.paper000.construction.decode_records``, seeded by ``seed``; None: this model's settings)."""
        require_fitted(self, "teacher_")
        records = decode_records(self.teacher_, self.encoder_, z, self.frame_.iloc[rows], self.frame_, dataset=self.dataset_,
                                 sensitive=self.sensitive_, construction=construction or self.construction,
                                 categorical_decoding=categorical_decoding or self.categorical_decoding,
                                 seed=seed)
        return restore_schema(records, self.dataset_)

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` reconstructions of seeded draws (with replacement) of the training records
        (``seed=None`` uses ``self.seed + 3``)."""
        n = check_n(n)
        seed = check_seed(seed, optional=True)
        require_fitted(self, "teacher_")
        seed = sampling_seed(self, seed, 3)
        rows = np.random.default_rng(seed).integers(0, len(self.frame_), size=n)
        torch.manual_seed(seed)
        z = self.teacher_.sample_latent(self.x_[rows], self.s_[rows]).cpu().numpy()
        return self.decode(z, rows, seed=seed)


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
            rng: torch.Generator, validation: torch.Tensor | None = None, stopper: EarlyStopping | None = None,
            validation_seed: int = 0) -> list[float]:
        """Train on ``data`` (n, d) in [−1, 1]; returns the last loss of each epoch.

        ``validation`` (m, d): held-out vectors whose loss is evaluated after every epoch at fixed
        timesteps and noise (seeded by ``validation_seed``; eval mode), the criterion of ``stopper``
        (which keeps the best epoch's denoiser). ``curve`` holds one row per epoch (mean training
        loss, validation loss, seconds); ``epoch_seconds`` the wall seconds of each epoch.
        """
        optimiser = torch.optim.Adam(self.model.parameters(), lr=lr, betas=betas)
        self.model.train()
        history, rows = [], []
        self.epoch_seconds: list[float] = []
        probe = None
        if validation is not None and len(validation):
            probe = torch.Generator(device=self.device).manual_seed(int(validation_seed))
            probe = (torch.randint(0, self.timesteps, (len(validation),), device=self.device, generator=probe),
                     torch.randn(validation.shape, device=self.device, generator=probe))
        for epoch in progress(range(1, epochs + 1), "FLDGMs diffusion", total=epochs):
            started = time.perf_counter()
            losses = []
            for step, index in enumerate(batches(len(data), batch_size, rng, drop_last=False)):
                loss = self.loss(data[index.to(self.device)], rng)
                check_finite(loss, "fldgm diffusion", epoch, step)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(loss.detach())
            history.append(float(losses[-1]))
            self.epoch_seconds.append(time.perf_counter() - started)
            row = {"epoch": epoch, "loss": float(torch.stack(losses).mean()), "seconds": self.epoch_seconds[-1]}
            if probe is not None:
                row["val_loss"] = self.validation_loss(validation, *probe)
            rows.append(row)
            if stopper is not None and stopper.update(epoch, row.get("val_loss"), lambda: copy.deepcopy(self.model.state_dict())):
                break
        if stopper is not None and stopper.rule.early and stopper.best_state is not None:
            self.model.load_state_dict(stopper.best_state)
        self.curve = pd.DataFrame(rows)
        return history

    @torch.no_grad()
    def validation_loss(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> float:
        """The v-prediction MSE of ``x0`` at the given timesteps and noise, in eval mode."""
        self.model.eval()
        a = self.alphas_cumprod[t][:, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        v = a.sqrt() * noise - (1 - a).sqrt() * x0
        value = float(((self.model(x_t, t) - v) ** 2).mean())
        self.model.train()
        return value

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


class FLDGM(Settings):
    """FLDGMs with a diffusion model in FairDisco's fair latent space (see module doc).

    Args:
        epochs: diffusion epochs (the authors: 5000).
        teacher_epochs: FairDisco epochs when no ``teacher`` is given.
        teacher: an already fitted ``FairDiscoGenerator`` on the same rows (its training time is
            added to ``fit_seconds_``, since FLDGMs needs it); ``None`` = train one.
        teacher_batch_size: mini-batch of that teacher.
        seed, device: as everywhere.
        patience, min_delta, validation_fraction: the diffusion stage's stopping rule (None:
            a fixed budget, nothing held out; a study passes its ``fairnb.nn.train.TrainingRule``). ``validation_fraction`` of the teacher's codes
            (seeded) is held out and the diffusion loss on them, at fixed timesteps and noise, is the
            validation criterion; with ``patience`` > 0 training stops once it has not improved by
            ``min_delta`` (relative) for ``patience`` epochs (``epochs`` is the budget), keeping the
            best epoch's denoiser.
        reuse: take the trained diffusion model from the trained-model store when one was trained before
            on the same teacher codes with the same settings and code (None or False: train afresh;
            a study passes its ``TrainingRule``'s ``reuse``).
        construction, categorical_decoding: how a sampled code becomes a record
            (``fairnb.paper000.construction``; defaults: ``random_group``, ``sample``).

    Fitted attributes: ``teacher_`` (the ``FairDiscoGenerator`` used), ``codes_`` (its latent
    codes of the training rows), ``diffusion_`` (the ``LatentDiffusion``), ``history_`` (last loss
    of each epoch), ``learning_curve_`` (epoch, mean loss, ``val_loss``, seconds),
    ``convergence_``, ``reused_`` (True when the diffusion model came from the store), ``diffusion_seconds_``
    (its original training time when reused), ``stage_seconds_`` (teacher, diffusion),
    ``fit_seconds_`` (both), ``dataset_``, ``sensitive_``, ``device_``.
    """

    name = "fldgm"

    def __init__(self, epochs: int = 5000, teacher_epochs: int = 1000, teacher: FairDiscoGenerator | None = None,
                 teacher_batch_size: int = 2048, seed: int = 0, device: str = "auto", patience: int | None = None,
                 min_delta: float | None = None, validation_fraction: float | None = None, reuse: bool | None = None,
                 construction: str = "random_group", categorical_decoding: str = "sample"):
        self.epochs, self.teacher_epochs, self.teacher = epochs, teacher_epochs, teacher
        self.teacher_batch_size, self.seed, self.device = teacher_batch_size, seed, device
        self.patience, self.min_delta, self.validation_fraction = patience, min_delta, validation_fraction
        self.reuse = reuse
        self.construction, self.categorical_decoding = construction, categorical_decoding

    def _check_params(self) -> None:
        check_epochs("epochs", self.epochs)
        check_epochs("teacher_epochs", self.teacher_epochs)
        check_epochs("teacher_batch_size", self.teacher_batch_size)
        check_seed(self.seed)
        check_construction(self.construction, self.categorical_decoding)
        self.rule_, self.validation_fraction_ = resolve_stopping(self.epochs, self.patience, self.min_delta, self.validation_fraction)
        if self.teacher is not None and not isinstance(self.teacher, FairDiscoGenerator):
            raise ParameterError("teacher", type(self.teacher).__name__, "None or a fitted FairDiscoGenerator", "wrong type")

    def fit(self, frame: pd.DataFrame, *, dataset: TabularDataset | str, sensitive: str) -> "FLDGM":
        self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        self.device_ = resolve_device(self.device)
        teacher = self.teacher
        if teacher is None:
            teacher = FairDiscoGenerator(self.teacher_epochs, batch_size=self.teacher_batch_size, seed=self.seed,
                                         device=str(self.device_), patience=self.patience, min_delta=self.min_delta,
                                         validation_fraction=self.validation_fraction).fit(frame, dataset=dataset, sensitive=sensitive)
        elif not hasattr(teacher, "teacher_") or teacher.sensitive_ != sensitive or len(teacher.frame_) != len(frame):
            raise ParameterError("teacher", "a FairDiscoGenerator", f"one fitted on the same {len(frame)} rows and sensitive={sensitive}", "mismatch")
        self.teacher_, self.dataset_, self.sensitive_ = teacher, dataset, sensitive
        started = time.perf_counter()
        torch.manual_seed(self.seed + 4)
        self.codes_ = teacher.latents()
        # FL maps z by (z + 1)/2 and the diffusion's auto-normalisation maps back: x = z.
        codes = torch.as_tensor(self.codes_, dtype=torch.float32)
        torch.manual_seed(self.seed + 4)
        self.diffusion_ = LatentDiffusion(codes.shape[1], hp.get("fldgm", "diffusion_steps"), hp.get("fldgm", "hidden"), self.device_)
        reuse = bool(self.reuse)

        def train() -> tuple[dict, dict]:
            rng = generator_for(self.seed + 4, self.device_)
            fit_rows, held_rows = validation_split(len(codes), self.validation_fraction_, self.seed)
            data, held = codes[fit_rows].to(self.device_), codes[held_rows].to(self.device_)
            stopper = EarlyStopping(self.rule_, "diffusion loss on held-out codes")
            last = self.diffusion_.fit(data, self.epochs, hp.get("fldgm", "batch_size"), hp.get("fldgm", "lr"),
                                       hp.get("fldgm", "betas"), rng, validation=held if len(held) else None,
                                       stopper=stopper, validation_seed=self.seed + 7919)
            found = stopper.result(len(last))
            curve = self.diffusion_.curve
            return {"denoiser": self.diffusion_.model.state_dict()}, {
                "last_losses": last, "curve": {c: curve[c].tolist() for c in curve.columns}, "curve_columns": list(curve.columns),
                "seconds": time.perf_counter() - started, "convergence": found.as_dict(),
                "stopped_early": found.stopped == "early", "budget_used": found.epochs}

        if reuse:
            settings = {"model": "FLDGM diffusion", "epochs": int(self.epochs), "seed": int(self.seed),
                        "patience": self.rule_.patience, "min_delta": self.rule_.min_delta,
                        "validation_fraction": self.validation_fraction_, "device": self.device_.type}
            state, metadata, self.reused_ = ModelStore().get_or_train(settings, array_checksum(codes), FLDGM_SOURCES, train,
                                                                      budget="epochs")
            if self.reused_:
                self.diffusion_.model.load_state_dict(state["denoiser"])
        else:
            _, metadata = train()
            self.reused_ = False
        self.diffusion_.model.train()  # as after training: sampling switches to eval mode and back
        self.history_ = list(metadata["last_losses"])
        self.learning_curve_ = self.diffusion_.curve = pd.DataFrame(metadata["curve"], columns=metadata["curve_columns"])
        self.diffusion_.epoch_seconds = list(self.learning_curve_["seconds"])
        rule = self.rule_.describe("diffusion loss on held-out codes") if self.rule_.early and self.reused_ else None
        self.convergence_ = Convergence(**{**metadata["convergence"], **({"rule": rule} if rule else {})})
        # codes and training, not the store's input and output (a stored model: its original time)
        self.diffusion_seconds_ = float(metadata["seconds"])
        self.stage_seconds_ = {"teacher": teacher.fit_seconds_, "diffusion": self.diffusion_seconds_}
        self.fit_seconds_ = teacher.fit_seconds_ + self.diffusion_seconds_
        return self

    @torch.no_grad()
    def sample_codes(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """``n`` latent codes (n, z_dim) from the diffusion model (seeded; ``seed=None`` uses ``self.seed + 5``)."""
        n, _, rng = start_sampling(self, "diffusion_", n, seed, seed_offset=5)
        return self.diffusion_.sample(n, hp.get("fldgm", "sampling_steps"), rng).cpu().numpy()

    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` records: sampled codes decoded with the target of the nearest training code (module doc)."""
        z = self.sample_codes(n, seed=seed)
        codes = torch.as_tensor(self.codes_, dtype=torch.float32, device=self.device_)
        rows = torch.cat([torch.cdist(torch.as_tensor(z[i:i + 4096], device=self.device_), codes).argmin(dim=1)
                          for i in range(0, len(z), 4096)]).cpu().numpy()
        return self.teacher_.decode(z, rows, seed=sampling_seed(self, seed, 5), construction=self.construction,
                                    categorical_decoding=self.categorical_decoding)
