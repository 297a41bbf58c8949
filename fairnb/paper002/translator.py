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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as tf
from sklearn.exceptions import NotFittedError
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
        epochs: passes over the training rows (the authors ran 2000 on COMPAS); ignored when ``steps`` > 0.
        steps: the training length in batches (critic updates) instead, whatever the number of rows;
            0 = ``epochs`` epochs. A step budget gives every dataset the same number of updates.
        hidden: width of every dense layer (not given in the paper).
        z_dim: latent size (not given in the paper).
        batch_size: rows per batch.
        lr: Adam learning rate of E, F and D (authors: 1e-4; short runs use more).
        lambda_rec, lambda_kld, lambda_cls, lambda_gp: loss weights (10, 0.1, 1, 10).
        n_critic: critic updates per translator update (6).
        check_every: batches between two rows of the history (and two validation checks); 0 = one row
            per epoch.
        patience: stopping rule. 0 = train the whole budget (``steps`` or ``epochs``); else, with
            validation rows given to ``fit``, stop when the validation criterion (``VALIDATION_CRITERION``)
            has not improved by ``min_delta`` (relative) for ``patience`` consecutive checks, and keep
            the networks of the best check.
        min_delta: relative improvement that counts.
    """

    epochs: int = 50
    steps: int = 0
    hidden: int = 128
    z_dim: int = 32
    batch_size: int = 128
    lr: float = 1e-4
    lambda_rec: float = 10.0
    lambda_kld: float = 0.1
    lambda_cls: float = 1.0
    lambda_gp: float = 10.0
    n_critic: int = 6
    check_every: int = 0
    patience: int = 0
    min_delta: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("check_every", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ParameterError(name, value, "an int >= 0")
        if not isinstance(self.min_delta, (int, float)) or isinstance(self.min_delta, bool) or not math.isfinite(self.min_delta) \
                or self.min_delta < 0:
            raise ParameterError("min_delta", self.min_delta, "a finite float >= 0")
        for name in ("epochs", "hidden", "z_dim", "batch_size", "n_critic"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "an int >= 1")
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 0:
            raise ParameterError("steps", self.steps, "an int >= 0 (0 = train epochs epochs)")
        for name in ("lr", "lambda_rec", "lambda_kld", "lambda_cls", "lambda_gp"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ParameterError(name, value, "a finite float > 0" if name == "lr" else "a finite float >= 0")


def check_inputs(X, y=None, *, sensitive_features, fitting: bool = False,
                 n_features: int | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Validate features X (n, d), labels y (n,) and sensitive features (n,) of a paper-002 model.

    X: finite numbers, two dimensions, at least one row (``n_features``: the width seen in ``fit``);
    y and sensitive_features: one value per row of X, each 0 or 1 (sensitive 1 = privileged,
    label 1 = favourable); ``sensitive_features`` may also be a single column (n, 1).
    ``fitting``: training data, which must hold both labels and both groups. Raises one
    ``ParameterError`` naming the parameter, the value and what is allowed. Returns float32 X
    and int64 y (None when not given) and sensitive features.
    """
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise ParameterError("X", f"array of dtype {np.asarray(X).dtype}", "numeric features (n, d)", "not numeric") from None
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ParameterError("X", f"array of shape {X.shape}", "a 2-d array (n, d) with n, d >= 1", "wrong shape")
    if not np.all(np.isfinite(X)):
        bad = int((~np.isfinite(X)).sum())
        raise ParameterError("X", f"array with {bad} NaN or infinite entries", "finite numbers (max-abs scaled features)", "not finite")
    if n_features is not None and X.shape[1] != n_features:
        raise ParameterError("X", f"{X.shape[1]} columns", f"{n_features} columns, as in fit", "wrong width")
    arrays = {"sensitive_features": sensitive_features} if y is None else {"y": y, "sensitive_features": sensitive_features}
    out: dict[str, np.ndarray] = {}
    for name, values in arrays.items():
        values = np.asarray(values)
        if name == "sensitive_features" and values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.shape != (len(X),):
            raise ParameterError(name, f"array of shape {values.shape}", f"one value per row of X: shape ({len(X)},)", "wrong shape")
        if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
            found = [v for v in dict.fromkeys(values.tolist()) if v not in (0, 1)][:4]
            raise ParameterError(name, found, "only 0 and 1" + (" (1 = privileged)" if name == "sensitive_features" else " (1 = favourable)"),
                                 "non-binary values")
        if fitting and len(np.unique(values)) < 2:
            what = "group" if name == "sensitive_features" else "label"
            raise ParameterError(name, f"only {what} {int(values[0])}", f"rows of both {what}s 0 and 1 in training data",
                                 f"one {what} only")
        out[name] = values.astype(np.int64)
    return X, out.get("y"), out["sensitive_features"]


def target_domains(sensitive: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Paper Eq. 5: ã = 1 − a, ỹ = y flipped with probability ½, for sensitive values a (n,) and labels
    y (n,). Returns (n, 2) float (ã, ỹ)."""
    flip = torch.rand(y.shape, device=y.device, generator=generator) < 0.5
    return torch.stack([1 - sensitive, torch.where(flip, 1 - y, y)], dim=1).float()


def not_fitted(model: object, fit_call: str = "fit(X, y, sensitive_features=...)") -> NotFittedError:
    """The one error of every unfitted paper-002 model (scikit-learn's ``NotFittedError``)."""
    return NotFittedError(f"{type(model).__name__} is not fitted: call {fit_call} first")


VALIDATION_CRITERION = ("the translator's objective without its adversarial term, L_like + λ_rec·L_rec + λ_kld·L_prior "
                        "+ λ_cls·L_trns, on held-out validation rows with fixed noise and target domains (L_trns as "
                        "read by the current discriminator)")


class FairTranslator:
    """The trained E, F, D of paper 002 with the operations the classifier needs.

    ``fit(X, y, *, sensitive_features, validation=None)`` trains on max-abs scaled features X (n, d),
    binary labels y (1 = favourable) and sensitive features (1 = privileged). ``history_`` holds one
    row per block of ``check_every`` batches (per epoch when 0), indexed by the last ``step`` of the
    block: ``epoch`` (epochs trained so far), ``seconds`` (the block's training time), the mean of every loss term, the agreement of D's heads with the requested domain on the
    batch translations and, with validation rows, the ``val_*`` terms and ``val_criterion``
    (``VALIDATION_CRITERION``). ``steps_`` is the number of batches trained, ``convergence_`` how
    training ended (``fairnb.nn.train.Convergence``; its epochs count checks).
    """

    def __init__(self, settings: TranslatorSettings | None = None, *, device: str = "cpu", seed: int = 0):
        self.settings = settings or TranslatorSettings()
        self.device = device
        self.seed = seed

    def _build(self, d: int, signed: np.ndarray, device: torch.device) -> None:
        s = self.settings
        torch.manual_seed(self.seed)
        self.encoder_ = Encoder(d, s.hidden, s.z_dim).to(device)
        self.generator_ = Generator(d, s.hidden, s.z_dim, signed).to(device)
        self.critic_ = Discriminator(d, s.hidden).to(device)

    # -- training
    def fit(self, X: np.ndarray, y: np.ndarray, *, sensitive_features: np.ndarray,
            validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, progress: bool | None = None) -> "FairTranslator":
        """Train on (X, y, sensitive_features); ``validation`` = (X, y, sensitive_features) of held-out
        rows for the validation criterion and the stopping rule; ``progress``: a bar over batches
        (None: inside notebooks only)."""
        from fairnb.nn.train import EarlyStopping, progress as progress_bar, stopping_rule

        x, y, a = check_inputs(X, y, sensitive_features=sensitive_features, fitting=True)
        s = self.settings
        if len(x) < 2:
            raise ParameterError("X", f"{len(x)} rows", "at least 2 rows", "too few rows")
        if s.patience and validation is None:
            raise ParameterError("validation", None, "held-out (X, y, sensitive_features) when patience > 0")
        device = torch.device(self.device)
        d = x.shape[1]
        self._build(d, x.min(axis=0) < 0, device)
        gen = torch.Generator(device=device).manual_seed(self.seed)
        vae_params = list(self.encoder_.parameters()) + list(self.generator_.parameters())
        opt_g = torch.optim.Adam(vae_params, lr=s.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(self.critic_.parameters(), lr=s.lr, betas=(0.5, 0.999))
        X = torch.as_tensor(x, device=device)
        A = torch.as_tensor(a, device=device)
        Y = torch.as_tensor(y, device=device)
        probe = self._probe(validation, device) if validation is not None else None
        starts = [start for start in range(0, len(X), s.batch_size) if min(s.batch_size, len(X) - start) >= 2]
        total = s.steps or s.epochs * len(starts)
        block = s.check_every or len(starts)
        stopper = EarlyStopping(stopping_rule(max(1, math.ceil(total / block)), s.patience, s.min_delta), "validation criterion")
        rows, step, started = [], 0, time.perf_counter()
        block_started = started
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        bar = progress_bar(range(total), "translator", total=total, enabled=progress)
        stop = False
        for epoch in range(math.ceil(total / len(starts))):
            order = torch.randperm(len(X), device=device, generator=gen)
            for start in starts:
                if step >= total:
                    break
                idx = order[start:start + s.batch_size]
                terms = self._step(X[idx], A[idx], Y[idx], opt_g, opt_d, step, gen)
                for name, value in terms.items():
                    if not math.isfinite(value):
                        raise TrainingDivergedError(f"translator loss {name} is {value} at epoch {epoch + 1}, step {step + 1}")
                    sums[name] = sums.get(name, 0.0) + value
                    counts[name] = counts.get(name, 0) + 1
                step += 1
                next(bar, None)
                if step % block == 0 or step == total:
                    row = {"step": step, "epoch": step / len(starts), **{k: sums[k] / counts[k] for k in sums},
                           "seconds": time.perf_counter() - block_started}
                    sums, counts = {}, {}
                    if probe is not None:
                        row.update(self._validate(*probe))
                    rows.append(row)
                    block_started = time.perf_counter()
                    if stopper.update(len(rows), row.get("val_criterion"), self._snapshot):
                        stop = True
                        break
            if stop or step >= total:
                break
        if s.patience and stopper.best_state is not None:
            for module, state in zip((self.encoder_, self.generator_, self.critic_), stopper.best_state):
                module.load_state_dict(state)
        self.fit_seconds_ = time.perf_counter() - started
        self.steps_ = step
        self.history_ = pd.DataFrame(rows).set_index("step")
        self.convergence_ = stopper.result(len(rows))
        for module in (self.encoder_, self.generator_, self.critic_):
            module.eval()
        self.n_features_in_ = d
        return self

    def _snapshot(self) -> list[dict]:
        import copy

        return [copy.deepcopy(m.state_dict()) for m in (self.encoder_, self.generator_, self.critic_)]

    def _probe(self, validation, device: torch.device, rows: int = 2000):
        """Fixed validation draws: at most ``rows`` held-out rows, their target domains and noise."""
        xv, yv, av = check_inputs(validation[0], validation[1], sensitive_features=validation[2], n_features=None)
        gen = torch.Generator(device=device).manual_seed(self.seed + 7919)
        keep = torch.randperm(len(xv), generator=torch.Generator().manual_seed(self.seed))[:rows].numpy()
        x = torch.as_tensor(xv[keep], device=device)
        a, y = torch.as_tensor(av[keep], device=device), torch.as_tensor(yv[keep], device=device)
        target = target_domains(a, y, gen)
        z_dim = self.settings.z_dim
        noise = [torch.randn(len(x), z_dim, device=device, generator=gen) for _ in range(3)]
        return x, torch.stack([a, y], dim=1).float(), target, noise

    @torch.no_grad()
    def _validate(self, x, source, target, noise) -> dict[str, float]:
        """The translator's non-adversarial objective on the fixed validation draws (``VALIDATION_CRITERION``)."""
        s = self.settings
        modules = (self.encoder_, self.generator_, self.critic_)
        for module in modules:
            module.eval()
        mu, logvar = self.encoder_(x, target)
        x_g = self.generator_(mu + noise[0] * torch.exp(0.5 * logvar), target)
        mu_back, logvar_back = self.encoder_(x_g, source)
        x_cycle = self.generator_(mu_back + noise[1] * torch.exp(0.5 * logvar_back), source)
        mu_id, logvar_id = self.encoder_(x, source)
        x_id = self.generator_(mu_id + noise[2] * torch.exp(0.5 * logvar_id), source)
        _, logits = self.critic_(x_g)
        prior = gaussian_kl(mu, logvar) + gaussian_kl(mu_back, logvar_back)
        like, rec, trns = l1_reconstruction(x, x_id), l1_reconstruction(x, x_cycle), domain_loss(logits, target)
        agree = ((logits > 0).float() == target).float().mean(dim=0)
        for module in modules:
            module.train()
        criterion = like + s.lambda_rec * rec + s.lambda_kld * prior + s.lambda_cls * trns
        return {"val_L_like": float(like), "val_L_rec": float(rec), "val_L_prior": float(prior), "val_L_trns": float(trns),
                "val_agreement_a": float(agree[0]), "val_agreement_y": float(agree[1]), "val_criterion": float(criterion)}

    # -- the trained-model store
    def state(self) -> dict:
        """The networks' state dicts and what ``from_state`` needs to rebuild them."""
        return {"encoder": self.encoder_.state_dict(), "generator": self.generator_.state_dict(),
                "critic": self.critic_.state_dict(), "d": int(self.n_features_in_)}

    def metadata(self) -> dict:
        """The fitted attributes besides the networks, JSON-ready (for the trained-model store)."""
        history = self.history_.reset_index()
        return {"history": {c: history[c].tolist() for c in history.columns}, "history_columns": list(history.columns),
                "fit_seconds": float(self.fit_seconds_),
                "steps": int(self.steps_), "convergence": self.convergence_.as_dict(),
                "stopped_early": self.convergence_.stopped == "early", "budget_used": int(self.steps_)}

    def load(self, state: dict, metadata: dict) -> "FairTranslator":
        """Restore a fitted translator from ``state()`` and ``metadata()`` (the store's record)."""
        from fairnb.nn.train import Convergence

        device = torch.device(self.device)
        self._build(int(state["d"]), np.zeros(int(state["d"]), dtype=bool), device)
        self.encoder_.load_state_dict(state["encoder"])
        self.generator_.load_state_dict(state["generator"])  # its buffer holds the signed columns
        self.critic_.load_state_dict(state["critic"])
        for module in (self.encoder_, self.generator_, self.critic_):
            module.eval()
        self.history_ = pd.DataFrame(metadata["history"], columns=metadata["history_columns"]).set_index("step")
        self.fit_seconds_, self.steps_ = float(metadata["fit_seconds"]), int(metadata["steps"])
        self.convergence_ = Convergence(**metadata["convergence"])
        self.n_features_in_ = int(state["d"])
        return self

    def _step(self, x, a, y, opt_g, opt_d, step, gen) -> dict[str, float]:
        s = self.settings
        source = torch.stack([a, y], dim=1).float()
        target = target_domains(a, y, gen)
        # --- critic: WGAN-GP on real vs translated, classification heads on real records
        with torch.no_grad():
            mu, logvar = self.encoder_(x, target)
            fake = self.generator_(reparameterise(mu, logvar, gen), target)
        real_score, real_logits = self.critic_(x)
        fake_score, _ = self.critic_(fake)
        d_adv = critic_loss(real_score, fake_score)
        d_cls = domain_loss(real_logits, source)
        gp = gradient_penalty(lambda rows: self.critic_(rows)[0], x, fake, gen)
        loss_d = d_adv + s.lambda_cls * d_cls + s.lambda_gp * gp
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = {"critic_wasserstein": float(-d_adv.detach()), "critic_cls": float(d_cls.detach()), "gradient_penalty": float(gp.detach())}
        if step % s.n_critic:
            return out
        # --- translator: E and F
        mu, logvar = self.encoder_(x, target)
        x_g = self.generator_(reparameterise(mu, logvar, gen), target)
        mu_back, logvar_back = self.encoder_(x_g, source)
        x_cycle = self.generator_(reparameterise(mu_back, logvar_back, gen), source)
        mu_id, logvar_id = self.encoder_(x, source)
        x_id = self.generator_(reparameterise(mu_id, logvar_id, gen), source)
        fake_score, fake_logits = self.critic_(x_g)
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
    def _check_fitted(self) -> torch.device:
        if not hasattr(self, "n_features_in_"):
            raise not_fitted(self)
        return torch.device(self.device)

    @torch.no_grad()
    def translate(self, X: np.ndarray, *, target_sensitive: np.ndarray, target_y: np.ndarray) -> np.ndarray:
        """Translate rows X (n, d) into the domains (target_sensitive, target_y) (n,) each; uses the
        posterior mean, so the result is deterministic. Returns float32 (n, d)."""
        device = self._check_fitted()
        x, ty, ta = check_inputs(X, target_y, sensitive_features=target_sensitive, n_features=self.n_features_in_)
        domain = torch.as_tensor(np.stack([ta, ty], axis=1), device=device).float()
        mu, _ = self.encoder_(torch.as_tensor(x, device=device), domain)
        return self.generator_(mu, domain).cpu().numpy()

    def translate_all(self, X: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """Every row translated into each of the four (sensitive, label) domains: {(a, y): (n, d)}."""
        n = len(X)
        return {(ta, ty): self.translate(X, target_sensitive=np.full(n, ta), target_y=np.full(n, ty)) for ta, ty in DOMAINS}

    def pairs(self, X: np.ndarray, y: np.ndarray, *, sensitive_features: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each real row's synthetic pair in domain (1 − a, ỹ), ỹ = y flipped w.p. ½ (Eq. 5).

        Returns (x_g (n, d), target sensitive values (n,), ỹ (n,)); ỹ is the pair's label for the classifier.
        """
        rng = np.random.default_rng(seed)
        a, y = np.asarray(sensitive_features), np.asarray(y)
        ta = 1 - a
        ty = np.where(rng.random(len(y)) < 0.5, 1 - y, y)
        return self.translate(X, target_sensitive=ta, target_y=ty), ta, ty

    @torch.no_grad()
    def sample(self, n_per_domain: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A balanced synthetic set: F(z, (a, y)) with z ~ N(0, I), ``n_per_domain`` rows in each
        of the four domains. Returns (X (4n, d), sensitive values (4n,), labels (4n,))."""
        device = self._check_fitted()
        if isinstance(n_per_domain, bool) or not isinstance(n_per_domain, (int, np.integer)) or n_per_domain < 1:
            raise ParameterError("n_per_domain", n_per_domain, "an int >= 1")
        gen = torch.Generator(device=device).manual_seed(int(seed))
        a = np.repeat([d[0] for d in DOMAINS], n_per_domain)
        y = np.repeat([d[1] for d in DOMAINS], n_per_domain)
        domain = torch.as_tensor(np.stack([a, y], axis=1), device=device).float()
        z = torch.randn(len(a), self.settings.z_dim, device=device, generator=gen)
        return self.generator_(z, domain).cpu().numpy(), a, y

    @torch.no_grad()
    def critic_view(self, X: np.ndarray) -> np.ndarray:
        """D's classification heads on rows X: probabilities (n, 2) of (sensitive = 1, y = 1)."""
        device = self._check_fitted()
        x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
        return torch.sigmoid(self.critic_(x)[1]).cpu().numpy()

    def domain_agreement(self, X: np.ndarray, *, seed: int = 0) -> dict[str, float]:
        """Share of translations whose requested sensitive value ("a") and label ("y") D's heads read
        back (threshold ½)."""
        rng = np.random.default_rng(seed)
        ta, ty = rng.integers(0, 2, len(X)), rng.integers(0, 2, len(X))
        probs = self.critic_view(self.translate(X, target_sensitive=ta, target_y=ty))
        return {"a": float(((probs[:, 0] > 0.5) == ta).mean()), "y": float(((probs[:, 1] > 0.5) == ty).mean())}

    def describe(self) -> dict:
        return asdict(self.settings) | {"device": str(self.device), "seed": self.seed,
                                        "fit_seconds": getattr(self, "fit_seconds_", 0.0)}
