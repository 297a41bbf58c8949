"""The VAE-GAN translator of paper 002 (Jang, Zheng & Wang, AAAI-21).

A record x (n, d) with sensitive attribute a and label y is rewritten into a target domain
(ã, ỹ): the encoder E(x, ã, ỹ) gives a Gaussian posterior over z (n, z_dim), the generator F(z, ã, ỹ)
decodes a translation x_g (n, d). A discriminator D has a source head (real vs translated, a
WGAN-GP critic) and two classification heads predicting a and y (StarGAN style).

Losses (names as in the paper; weights from the authors' COMPAS command):

- ``L_prior``: KL(q(z | x, ã, ỹ) ‖ N(0, I)) + KL(q(z | x_g, a, y) ‖ N(0, I)), weight λ_kld = 0.1.
- ``L_like``: the paper's likelihood term is undefined for translations (they have no target), so it
  is the identity reconstruction ‖x − F(E(x, a, y), a, y)‖₁ (mean over entries).
- ``L_rec``: cycle reconstruction ‖x − F(E(x_g, a, y), a, y)‖₁ (mean over entries), weight λ_rec = 10.
- ``L_dis``: WGAN-GP: the critic minimises −D(x) + D(x_g) + λ_gp (‖∇D(x̂)‖₂ − 1)²; E, F minimise −D(x_g).
- ``L_trns``: binary cross-entropy of D's (a, y) heads: D learns them on real records with their true
  labels; E, F are trained so that D reads the *requested* (ã, ỹ) on x_g, weight λ_cls = 1.

The critic is updated every batch and E, F every ``n_critic`` batches (6). Target domains follow the
paper's Eq. 5: ã = 1 − a always, ỹ = y flipped with probability ½.

Features must be max-abs scaled; columns whose training minimum is ≥ 0 are decoded through a
sigmoid (range [0, 1]), the others through tanh (range [−1, 1]).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as tf
from torch import nn

from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.nn.losses import gaussian_kl, gradient_penalty, reparameterise

DOMAINS = ((0, 0), (0, 1), (1, 0), (1, 1))


# --------------------------------------------------------------------------- loss terms


def l1_reconstruction(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every entry of (n, d) arrays (``L_rec`` and ``L_like``)."""
    return (x - x_hat).abs().mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss −E[D(x)] + E[D(x_g)] (scores (n,) or (n, 1))."""
    return fake_scores.mean() - real_scores.mean()


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The translator's side of ``L_dis``: −E[D(x_g)]."""
    return -fake_scores.mean()


def domain_loss(logits: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
    """``L_trns``: BCE of the two classification heads (n, 2) against (a, y) targets (n, 2) in {0, 1}.

    Summed over the two heads, averaged over rows.
    """
    return tf.binary_cross_entropy_with_logits(logits, domain.float(), reduction="none").sum(dim=1).mean()


# --------------------------------------------------------------------------- networks


def _dense(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, o), nn.LayerNorm(o), nn.ReLU())


class ResidualBlock(nn.Module):
    """x + LN(W₂ ReLU(LN(W₁ x))), then ReLU; width preserved."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.ReLU(), nn.Linear(width, width), nn.LayerNorm(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class Encoder(nn.Module):
    """E(x, domain) → (mu, logvar), each (n, z_dim); domain (n, 2) holds (a, y) as floats."""

    def __init__(self, d: int, hidden: int, z_dim: int):
        super().__init__()
        self.trunk = nn.Sequential(_dense(d + 2, hidden), _dense(hidden, hidden), _dense(hidden, hidden),
                                   ResidualBlock(hidden), ResidualBlock(hidden))
        self.mu, self.logvar = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor, domain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(torch.cat([x, domain.float()], dim=1))
        # clamp keeps exp(logvar) finite early in adversarial training
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)


class Generator(nn.Module):
    """F(z, domain) → x (n, d): the encoder's mirror; sigmoid or tanh per column (see module doc)."""

    def __init__(self, d: int, hidden: int, z_dim: int, signed: np.ndarray):
        super().__init__()
        self.trunk = nn.Sequential(_dense(z_dim + 2, hidden), ResidualBlock(hidden), ResidualBlock(hidden),
                                   _dense(hidden, hidden), _dense(hidden, hidden))
        self.out = nn.Linear(hidden, d)
        self.register_buffer("signed", torch.as_tensor(np.asarray(signed, dtype=bool)))

    def forward(self, z: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        h = self.out(self.trunk(torch.cat([z, domain.float()], dim=1)))
        return torch.where(self.signed, torch.tanh(h), torch.sigmoid(h))


class Discriminator(nn.Module):
    """D(x) → (source score (n,), (a, y) logits (n, 2)); 3 dense LeakyReLU layers, no normalisation
    (a WGAN-GP critic must not mix rows of a batch)."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                   nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        self.source, self.classes = nn.Linear(hidden, 1), nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.source(h).squeeze(1), self.classes(h)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TranslatorSettings:
    """Hyper-parameters of the translator (paper / authors' command where given, else notes §6).

    Attributes:
        epochs: passes over the training rows (the authors ran 2000 on COMPAS).
        hidden: width of every dense layer (not given in the paper).
        z_dim: latent size (not given in the paper).
        batch_size: rows per batch.
        lr: Adam learning rate of E, F and D (authors: 1e-4; short runs use more).
        lambda_rec, lambda_kld, lambda_cls, lambda_gp: loss weights (10, 0.1, 1, 10).
        n_critic: critic updates per translator update (6).
    """

    epochs: int = 50
    hidden: int = 128
    z_dim: int = 32
    batch_size: int = 128
    lr: float = 1e-4
    lambda_rec: float = 10.0
    lambda_kld: float = 0.1
    lambda_cls: float = 1.0
    lambda_gp: float = 10.0
    n_critic: int = 6

    def __post_init__(self) -> None:
        for name in ("epochs", "hidden", "z_dim", "batch_size", "n_critic"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "an int >= 1")
        for name in ("lr", "lambda_rec", "lambda_kld", "lambda_cls", "lambda_gp"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ParameterError(name, value, "a finite float > 0" if name == "lr" else "a finite float >= 0")


def check_xay(x: np.ndarray, a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a feature matrix (n, d) and binary a, y (n,); return float32 / int64 arrays."""
    x = np.asarray(x, dtype=np.float32)
    a, y = np.asarray(a), np.asarray(y)
    if x.ndim != 2 or a.shape != (len(x),) or y.shape != (len(x),):
        raise ParameterError("x/a/y", f"shapes {x.shape}, {a.shape}, {y.shape}", "x (n, d), a (n,), y (n,)")
    if not np.all(np.isfinite(x)):
        raise ParameterError("x", "array with NaN or inf", "finite, max-abs scaled features")
    for name, values in (("a", a), ("y", y)):
        if not np.isin(values, (0, 1)).all():
            raise ParameterError(name, np.unique(values)[:4].tolist(), "values in {0, 1}")
    return x, a.astype(np.int64), y.astype(np.int64)


def target_domains(a: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Paper Eq. 5: ã = 1 − a, ỹ = y flipped with probability ½. Returns (n, 2) float (ã, ỹ)."""
    flip = torch.rand(y.shape, device=y.device, generator=generator) < 0.5
    return torch.stack([1 - a, torch.where(flip, 1 - y, y)], dim=1).float()


class FairTranslator:
    """The trained E, F, D of paper 002 with the operations the classifier needs.

    ``fit(x, a, y)`` trains on max-abs scaled features x (n, d) with binary a (1 = privileged)
    and y (1 = favourable); ``history`` holds the per-epoch mean of every loss term and the
    agreement of D's heads with the requested domain on translations.
    """

    def __init__(self, settings: TranslatorSettings | None = None, device: str = "cpu", seed: int = 0):
        self.settings = settings or TranslatorSettings()
        self.device = torch.device(device)
        self.seed = int(seed)
        self.history = pd.DataFrame()
        self.fit_seconds = 0.0
        self.encoder: Encoder | None = None

    # -- training
    def fit(self, x: np.ndarray, a: np.ndarray, y: np.ndarray, progress: bool = False) -> "FairTranslator":
        x, a, y = check_xay(x, a, y)
        s = self.settings
        if len(x) < 2:
            raise ParameterError("x", f"{len(x)} rows", "at least 2 rows")
        torch.manual_seed(self.seed)
        gen = torch.Generator(device=self.device).manual_seed(self.seed)
        d = x.shape[1]
        signed = x.min(axis=0) < 0
        self.encoder = Encoder(d, s.hidden, s.z_dim).to(self.device)
        self.generator = Generator(d, s.hidden, s.z_dim, signed).to(self.device)
        self.critic = Discriminator(d, s.hidden).to(self.device)
        vae_params = list(self.encoder.parameters()) + list(self.generator.parameters())
        opt_g = torch.optim.Adam(vae_params, lr=s.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(self.critic.parameters(), lr=s.lr, betas=(0.5, 0.999))
        X = torch.as_tensor(x, device=self.device)
        A = torch.as_tensor(a, device=self.device)
        Y = torch.as_tensor(y, device=self.device)
        rows, step, started = [], 0, time.perf_counter()
        epochs = range(s.epochs)
        if progress:
            from tqdm.auto import tqdm
            epochs = tqdm(epochs, desc="translator", leave=False)
        for epoch in epochs:
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}
            order = torch.randperm(len(X), device=self.device, generator=gen)
            for start in range(0, len(X), s.batch_size):
                idx = order[start:start + s.batch_size]
                if len(idx) < 2:
                    continue
                terms = self._step(X[idx], A[idx], Y[idx], opt_g, opt_d, step, gen)
                for name, value in terms.items():
                    if not math.isfinite(value):
                        raise TrainingDivergedError(f"translator loss {name} is {value} at epoch {epoch}, step {step}")
                    sums[name] = sums.get(name, 0.0) + value
                    counts[name] = counts.get(name, 0) + 1
                step += 1
            rows.append({"epoch": epoch + 1, **{k: sums[k] / counts[k] for k in sums}})
        self.fit_seconds = time.perf_counter() - started
        self.history = pd.DataFrame(rows).set_index("epoch")
        for module in (self.encoder, self.generator, self.critic):
            module.eval()
        return self

    def _step(self, x, a, y, opt_g, opt_d, step, gen) -> dict[str, float]:
        s = self.settings
        source = torch.stack([a, y], dim=1).float()
        target = target_domains(a, y, gen)
        # --- critic: WGAN-GP on real vs translated, classification heads on real records
        with torch.no_grad():
            mu, logvar = self.encoder(x, target)
            fake = self.generator(reparameterise(mu, logvar, gen), target)
        real_score, real_logits = self.critic(x)
        fake_score, _ = self.critic(fake)
        d_adv = critic_loss(real_score, fake_score)
        d_cls = domain_loss(real_logits, source)
        gp = gradient_penalty(lambda rows: self.critic(rows)[0], x, fake, gen)
        loss_d = d_adv + s.lambda_cls * d_cls + s.lambda_gp * gp
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = {"critic_wasserstein": float(-d_adv.detach()), "critic_cls": float(d_cls.detach()), "gradient_penalty": float(gp.detach())}
        if step % s.n_critic:
            return out
        # --- translator: E and F
        mu, logvar = self.encoder(x, target)
        x_g = self.generator(reparameterise(mu, logvar, gen), target)
        mu_back, logvar_back = self.encoder(x_g, source)
        x_cycle = self.generator(reparameterise(mu_back, logvar_back, gen), source)
        mu_id, logvar_id = self.encoder(x, source)
        x_id = self.generator(reparameterise(mu_id, logvar_id, gen), source)
        fake_score, fake_logits = self.critic(x_g)
        prior = gaussian_kl(mu, logvar) + gaussian_kl(mu_back, logvar_back)
        like = l1_reconstruction(x, x_id)
        rec = l1_reconstruction(x, x_cycle)
        adv = generator_adversarial_loss(fake_score)
        trns = domain_loss(fake_logits, target)
        loss_g = like + s.lambda_rec * rec + s.lambda_kld * prior + adv + s.lambda_cls * trns
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            agree = ((fake_logits > 0).float() == target).float().mean(dim=0)
        out.update({"L_prior": float(prior.detach()), "L_like": float(like.detach()), "L_rec": float(rec.detach()),
                    "L_dis": float(adv.detach()), "L_trns": float(trns.detach()),
                    "agreement_a": float(agree[0]), "agreement_y": float(agree[1])})
        return out

    # -- use
    def _check_fitted(self) -> None:
        if self.encoder is None:
            raise RuntimeError("FairTranslator is not fitted: call fit(x, a, y) first")

    @torch.no_grad()
    def translate(self, x: np.ndarray, target_a: np.ndarray, target_y: np.ndarray) -> np.ndarray:
        """Translate rows x (n, d) into domains (target_a, target_y) (n,) each; uses the posterior
        mean, so the result is deterministic. Returns float32 (n, d)."""
        self._check_fitted()
        x, ta, ty = check_xay(x, target_a, target_y)
        X = torch.as_tensor(x, device=self.device)
        domain = torch.as_tensor(np.stack([ta, ty], axis=1), device=self.device).float()
        mu, _ = self.encoder(X, domain)
        return self.generator(mu, domain).cpu().numpy()

    def translate_all(self, x: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Every row translated into each of the four (a, y) domains: {(a, y): (n, d)}."""
        n = len(x)
        return {(ta, ty): self.translate(x, np.full(n, ta), np.full(n, ty)) for ta, ty in DOMAINS}

    def pairs(self, x: np.ndarray, a: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each real row's synthetic pair in domain (1 − a, ỹ), ỹ = y flipped w.p. ½ (Eq. 5).

        Returns (x_g (n, d), ã (n,), ỹ (n,)); ỹ is the pair's label for the classifier.
        """
        rng = np.random.default_rng(seed)
        a, y = np.asarray(a), np.asarray(y)
        ta = 1 - a
        ty = np.where(rng.random(len(y)) < 0.5, 1 - y, y)
        return self.translate(x, ta, ty), ta, ty

    @torch.no_grad()
    def sample(self, n_per_domain: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A balanced synthetic set: F(z, (a, y)) with z ~ N(0, I), ``n_per_domain`` rows in each
        of the four domains. Returns (x (4n, d), a (4n,), y (4n,))."""
        self._check_fitted()
        if not isinstance(n_per_domain, int) or n_per_domain < 1:
            raise ParameterError("n_per_domain", n_per_domain, "an int >= 1")
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        a = np.repeat([d[0] for d in DOMAINS], n_per_domain)
        y = np.repeat([d[1] for d in DOMAINS], n_per_domain)
        domain = torch.as_tensor(np.stack([a, y], axis=1), device=self.device).float()
        z = torch.randn(len(a), self.settings.z_dim, device=self.device, generator=gen)
        return self.generator(z, domain).cpu().numpy(), a, y

    @torch.no_grad()
    def critic_view(self, x: np.ndarray) -> np.ndarray:
        """D's classification heads on rows x: probabilities (n, 2) of (a = 1, y = 1)."""
        self._check_fitted()
        x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)
        return torch.sigmoid(self.critic(x)[1]).cpu().numpy()

    def domain_agreement(self, x: np.ndarray, seed: int = 0) -> dict[str, float]:
        """Share of translations whose requested a and y D's heads read back (threshold ½)."""
        rng = np.random.default_rng(seed)
        ta, ty = rng.integers(0, 2, len(x)), rng.integers(0, 2, len(x))
        probs = self.critic_view(self.translate(x, ta, ty))
        return {"a": float(((probs[:, 0] > 0.5) == ta).mean()), "y": float(((probs[:, 1] > 0.5) == ty).mean())}

    def describe(self) -> dict:
        return asdict(self.settings) | {"device": str(self.device), "seed": self.seed, "fit_seconds": self.fit_seconds}
