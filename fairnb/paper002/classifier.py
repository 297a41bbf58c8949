"""The classifier C of paper 002, its two-step training on generated fair data, and the protocol
every paper-002 classifier follows.

**Protocol** (fairlearn's conventions; ``tests/test_classifiers_002.py`` is the conformance suite):
``__init__`` stores settings only; ``fit(X, y, *, sensitive_features, validation=None)`` returns
self; fitted state ends in ``_``; ``predict(X, *, sensitive_features)`` returns int labels (n,)
and ``predict_proba(X, *, sensitive_features)`` the probability of the favourable label (n,)
where the method has one. X holds max-abs scaled features *without* the sensitive attribute, y
is 1 for the favourable label and sensitive_features 1 for the privileged group. ``validation``
is an optional ``(X_val, y_val, sensitive_features_val)`` for early stopping and for methods fitted
on held-out scores. A call before ``fit`` raises scikit-learn's ``NotFittedError``; bad input raises
one ``ParameterError`` naming the parameter, the value and what is allowed.

**C** is a 3-layer ReLU network with dropout (paper: p = 0.7). Training (paper Alg. 1, steps 2–3):

1. **pre-train** on a balanced synthetic set drawn from the translator, F(z, (a, y)) with
   z ~ N(0, I) and a quarter of the rows in each (a, y) domain, label y;
2. **fine-tune** on real training rows mixed with their synthetic pairs (each real row
   translated into (1 − a, ỹ), label ỹ): every batch holds a share ``real_ratio`` of real rows
   (the paper: 0.5, not tuned). ``balance`` chooses the real rows: ``none`` all training rows as
   they are; ``upsample`` every (a, y) cell drawn with replacement up to the largest cell (the
   paper's "balanced real data with their synthetic pair"); ``downsample`` every cell cut to the
   smallest cell (the paper's downsampled variant).

Each phase keeps the weights of the epoch with the best validation balanced accuracy (the
paper's "train until validation accuracy converges") and draws its dropout masks from torch's
random generator seeded for that phase, so a fine-tuning gives the same weights whatever ran before. ``ClassifierTraining.fit_plain`` trains
the same network on real rows only: the paper's "Baseline".
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as tf
from sklearn.base import BaseEstimator
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from fairnb.errors import ParameterError, TrainingDivergedError, one_of
from fairnb.paper002.translator import FairTranslator, TranslatorSettings, check_inputs, not_fitted

RATIO_SWEEP = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
BALANCING = ("upsample", "downsample", "none")

Validation = tuple[np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- the protocol


class FairClassifierBase(BaseEstimator):
    """Input checks and ``predict`` shared by every paper-002 classifier (see module doc).

    Subclasses set ``n_features_in_`` in ``fit`` (the fitted marker) and implement
    ``predict_proba`` or override ``predict``.
    """

    name = ""

    def _check_fit(self, X: Any, y: Any, sensitive_features: Any,
                   validation: Validation | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, Validation | None]:
        X, y, s = check_inputs(X, y, sensitive_features=sensitive_features, fitting=True)
        return X, y, s, self._check_validation(validation, X.shape[1])

    @staticmethod
    def _check_validation(validation: Any, n_features: int) -> Validation | None:
        if validation is None:
            return None
        if not isinstance(validation, (tuple, list)) or len(validation) != 3:
            raise ParameterError("validation", type(validation).__name__, "None or a tuple (X_val, y_val, sensitive_features_val)")
        try:
            return check_inputs(validation[0], validation[1], sensitive_features=validation[2], fitting=True, n_features=n_features)
        except ParameterError as error:
            raise ParameterError(f"validation {error.name}", error.value, error.allowed, "bad validation data") from None

    def _check_predict(self, X: Any, sensitive_features: Any) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "n_features_in_"):
            raise not_fitted(self)
        X, _, s = check_inputs(X, sensitive_features=sensitive_features, n_features=self.n_features_in_)
        return X, s

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no probability of the favourable label")

    def predict(self, X: Any, *, sensitive_features: Any) -> np.ndarray:
        """Int labels (n,): 1 where the probability of the favourable label is at least ½."""
        return (self.predict_proba(X, sensitive_features=sensitive_features) >= 0.5).astype(np.int64)


# --------------------------------------------------------------------------- the network C


class Classifier(nn.Module):
    """Three dense layers (d → h → h → 1 logit), ReLU, dropout after each hidden layer."""

    def __init__(self, d: int, hidden: int = 256, dropout: float = 0.7):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@dataclass(frozen=True)
class ClassifierSettings:
    """Hyper-parameters of C (paper: 3 layers, ReLU, dropout 0.7; Adam 1e-4 in the authors' command).

    Attributes:
        epochs: epochs of each phase (pre-training, fine-tuning); best validation epoch kept.
        hidden: width of the two hidden layers.
        dropout: drop probability (PyTorch convention).
        lr: Adam learning rate.
        batch_size: rows per batch.
        real_ratio: share of real rows in every fine-tuning batch, in [0, 1].
        balance: real rows of fine-tuning: none, upsample or downsample (see module doc).
        pretrain: pre-train on balanced synthetic data before fine-tuning (False: "no TL").
    """

    epochs: int = 20
    hidden: int = 256
    dropout: float = 0.7
    lr: float = 1e-3
    batch_size: int = 128
    real_ratio: float = 0.5
    balance: str = "upsample"
    pretrain: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "hidden", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "an int >= 1")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ParameterError("dropout", self.dropout, "a float in [0, 1)")
        if not (isinstance(self.real_ratio, (int, float)) and 0.0 <= self.real_ratio <= 1.0):
            raise ParameterError("real_ratio", self.real_ratio, "a float in [0, 1]")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ParameterError("lr", self.lr, "a finite float > 0")
        if self.balance not in BALANCING:
            raise ParameterError("balance", self.balance, one_of(BALANCING))
        if not isinstance(self.pretrain, bool):
            raise ParameterError("pretrain", self.pretrain, "True or False")


def balanced_rows(y: np.ndarray, sensitive_features: np.ndarray, *, balance: str, seed: int) -> np.ndarray:
    """Indices of the real rows fine-tuning uses (see module doc), in cell order.

    ``upsample``: each (sensitive, label) cell keeps all its rows plus draws with replacement up to
    the largest cell's size; ``downsample``: each cell a draw without replacement of the smallest
    cell's size; ``none``: every row. Empty cells stay empty.
    """
    if balance not in BALANCING:
        raise ParameterError("balance", balance, one_of(BALANCING))
    y, s = np.asarray(y), np.asarray(sensitive_features)
    if balance == "none":
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    cells = [np.flatnonzero((s == a) & (y == label)) for a in (0, 1) for label in (0, 1)]
    cells = [c for c in cells if len(c)]
    sizes = [len(c) for c in cells]
    if balance == "upsample":
        target = max(sizes)
        parts = [np.concatenate([c, rng.choice(c, target - len(c), replace=True)]) for c in cells]
    else:
        target = min(sizes)
        parts = [np.sort(rng.choice(c, target, replace=False)) for c in cells]
    return np.concatenate(parts)


class ClassifierTraining:
    """C with the paper's training phases (see module doc): ``pretrain``, ``finetune``, ``fit_plain``.

    The building block of ``FairClassifier`` and ``PlainClassifier``; ``copy`` lets several
    fine-tunings start from one pre-trained state. ``curve`` records (phase, epoch, train loss,
    validation BA).
    """

    def __init__(self, settings: ClassifierSettings, *, device: str = "cpu", seed: int = 0):
        self.settings = settings
        self.device = torch.device(device)
        self.seed = int(seed)
        self.model: Classifier | None = None
        self.curve: list[dict] = []

    def _init(self, d: int) -> None:
        torch.manual_seed(self.seed)
        self.model = Classifier(d, self.settings.hidden, self.settings.dropout).to(self.device)

    # -- phases
    def pretrain(self, translator: FairTranslator, n_rows: int, validation: tuple[np.ndarray, np.ndarray]) -> "ClassifierTraining":
        """Phase 1: ``n_rows`` fresh balanced synthetic rows per epoch (label = requested y)."""
        if self.model is None:
            self._init(np.asarray(validation[0]).shape[1])
        per_domain = max(1, n_rows // 4)

        def epoch_data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            x, _, y = translator.sample(per_domain, seed=self.seed * 100_003 + epoch)
            return x, y

        return self._train("pretrain", epoch_data, validation)

    def finetune(self, X: np.ndarray, y: np.ndarray, *, sensitive_features: np.ndarray, translator: FairTranslator | None,
                 validation: tuple[np.ndarray, np.ndarray]) -> "ClassifierTraining":
        """Phase 2: real rows (chosen by ``settings.balance``) + their synthetic pairs, a share
        ``settings.real_ratio`` real in every batch.

        ``real_ratio = 1`` trains on real rows only (no translator needed). One epoch draws as many
        rows in total as there are chosen real rows; pairs are re-drawn (new ỹ) every epoch.
        """
        ratio = self.settings.real_ratio
        if translator is None and ratio < 1.0:
            raise ParameterError("translator", None, "a fitted FairTranslator when real_ratio < 1")
        rows = balanced_rows(y, sensitive_features, balance=self.settings.balance, seed=self.seed)
        x, a, y = X[rows], sensitive_features[rows], y[rows]
        if self.model is None:
            self._init(x.shape[1])
        rng = np.random.default_rng(self.seed)
        n, bs = len(x), self.settings.batch_size

        def epoch_data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            if ratio >= 1.0:
                order = rng.permutation(n)
                return x[order], y[order]
            x_g, _, y_g = translator.pairs(x, y, sensitive_features=a, seed=self.seed * 100_003 + epoch)
            real_order, pair_order = rng.permutation(n), rng.permutation(n)
            xs, ys, used_real, used_pair = [], [], 0, 0
            for start in range(0, n, bs):
                size = min(bs, n - start)
                k = int(round(ratio * size))
                r = real_order[used_real:used_real + k]
                p = pair_order[used_pair:used_pair + size - k]
                used_real, used_pair = used_real + k, used_pair + size - k
                xs += [x[r], x_g[p]]
                ys += [y[r], y_g[p]]
            return np.concatenate(xs), np.concatenate(ys)

        return self._train(f"finetune r={ratio:g}", epoch_data, validation)

    def fit_plain(self, X: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray],
                  sample_weight: np.ndarray | None = None) -> "ClassifierTraining":
        """C on real rows only (the paper's Baseline); optional per-row weights (n,) scale the loss."""
        x = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        self._init(x.shape[1])
        rng = np.random.default_rng(self.seed)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)

        def epoch_data(epoch: int):
            order = rng.permutation(len(x))
            return (x[order], y[order]) if w is None else (x[order], y[order], w[order])

        return self._train("plain", epoch_data, validation)

    def _train(self, phase: str, epoch_data, validation) -> "ClassifierTraining":
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # dropout draws from torch's global generator: seed it per phase (restored afterwards)
            torch.manual_seed(self.seed * 1_000_003 + sum(map(ord, phase.split()[0])))
            return self._train_seeded(phase, epoch_data, validation)

    def _train_seeded(self, phase: str, epoch_data, validation) -> "ClassifierTraining":
        assert self.model is not None
        s = self.settings
        x_val, y_val = np.asarray(validation[0], dtype=np.float32), np.asarray(validation[1])
        opt = torch.optim.Adam(self.model.parameters(), lr=s.lr)
        best, best_state = -1.0, None
        for epoch in range(s.epochs):
            batch = epoch_data(epoch)
            X = torch.as_tensor(np.asarray(batch[0], dtype=np.float32), device=self.device)
            Y = torch.as_tensor(np.asarray(batch[1]), device=self.device).float()
            W = torch.as_tensor(batch[2], device=self.device) if len(batch) > 2 else None
            self.model.train()
            total, count = 0.0, 0
            for start in range(0, len(X), s.batch_size):
                logits = self.model(X[start:start + s.batch_size])
                target = Y[start:start + s.batch_size]
                loss = tf.binary_cross_entropy_with_logits(logits, target, reduction="none")
                loss = (loss * W[start:start + s.batch_size]).sum() / W[start:start + s.batch_size].sum() if W is not None else loss.mean()
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(f"classifier loss is {float(loss)} in phase {phase}, epoch {epoch}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, count = total + float(loss.detach()) * len(target), count + len(target)
            score = balanced_accuracy_score(y_val, self.predict(x_val))
            self.curve.append({"phase": phase, "epoch": epoch + 1, "loss": total / max(count, 1), "val_balanced_accuracy": score})
            if score > best:
                best, best_state = score, copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(best_state)
        return self

    def copy(self, settings: ClassifierSettings | None = None) -> "ClassifierTraining":
        """An independent copy (same weights, optionally other settings) to fine-tune from a shared
        pre-trained state."""
        other = ClassifierTraining(settings or self.settings, device=str(self.device), seed=self.seed)
        other.model = copy.deepcopy(self.model)
        other.curve = list(self.curve)
        return other

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        assert self.model is not None
        self.model.eval()
        x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
        return torch.sigmoid(self.model(x)).cpu().numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(np.int64)


# --------------------------------------------------------------------------- ours


class FairClassifier(FairClassifierBase):
    """The method of paper 002: translator, pre-training on balanced synthetic data, fine-tuning
    on real rows with their synthetic pairs (see module doc).

    Args:
        settings: C and its fine-tuning (``real_ratio``, ``balance``, ``pretrain``).
        translator_settings: the translator trained in ``fit`` (ignored when ``translator`` is given).
        translator: an already fitted ``FairTranslator`` to use instead of training one (several
            classifiers then share one translator, as the ratio sweep does).
        device, seed: torch device and seed of every phase.

    Fitted: ``translator_``, ``pretrained_`` (C after phase 1, None without pre-training),
    ``network_`` (C after fine-tuning), ``curve_`` (per-epoch loss and validation BA of each phase).
    Without ``validation``, early stopping reads the training rows.
    """

    name = "ours"

    def __init__(self, settings: ClassifierSettings | None = None, *, translator_settings: TranslatorSettings | None = None,
                 translator: FairTranslator | None = None, device: str = "cpu", seed: int = 0):
        self.settings = settings
        self.translator_settings = translator_settings
        self.translator = translator
        self.device = device
        self.seed = seed

    def fit(self, X: Any, y: Any, *, sensitive_features: Any, validation: Validation | None = None) -> "FairClassifier":
        X, y, s, validation = self._check_fit(X, y, sensitive_features, validation)
        settings = self.settings or ClassifierSettings()
        if self.translator is not None:
            if not hasattr(self.translator, "n_features_in_"):
                raise ParameterError("translator", "an unfitted FairTranslator", "a fitted FairTranslator or None")
            if self.translator.n_features_in_ != X.shape[1]:
                raise ParameterError("translator", f"fitted on {self.translator.n_features_in_} columns", f"{X.shape[1]} columns as X")
            self.translator_ = self.translator
        elif settings.pretrain or settings.real_ratio < 1.0:
            self.translator_ = FairTranslator(self.translator_settings, device=self.device, seed=self.seed).fit(X, y, sensitive_features=s)
        else:
            self.translator_ = None
        val = (X, y) if validation is None else (validation[0], validation[1])
        self.pretrained_ = None
        if settings.pretrain:
            self.pretrained_ = ClassifierTraining(settings, device=self.device, seed=self.seed).pretrain(self.translator_, len(X), val)
        self._finetune(X, y, s, val, settings)
        return self

    def _finetune(self, X, y, s, val, settings: ClassifierSettings) -> None:
        start = self.pretrained_.copy(settings) if settings.pretrain else ClassifierTraining(settings, device=self.device, seed=self.seed)
        self.network_ = start.finetune(X, y, sensitive_features=s, translator=self.translator_, validation=val)
        self.curve_ = list(self.network_.curve)
        self.n_features_in_ = X.shape[1]

    def with_finetuning(self, X: Any, y: Any, *, sensitive_features: Any, validation: Validation | None = None,
                        **changes: Any) -> "FairClassifier":
        """A new fitted ``FairClassifier`` that shares this one's translator and pre-trained C and is
        fine-tuned with settings changed by ``changes`` (e.g. ``real_ratio=0.8``, ``balance="downsample"``,
        ``pretrain=False`` for a C trained from scratch)."""
        if not hasattr(self, "n_features_in_"):
            raise not_fitted(self)
        X, y, s, validation = self._check_fit(X, y, sensitive_features, validation)
        try:
            settings = replace(self.settings or ClassifierSettings(), **changes)
        except TypeError:
            raise ParameterError("changes", sorted(changes), "fields of ClassifierSettings") from None
        if settings.pretrain and self.pretrained_ is None:
            raise ParameterError("pretrain", True, "False: this classifier was fitted without pre-training")
        if settings.real_ratio < 1.0 and self.translator_ is None:
            raise ParameterError("real_ratio", settings.real_ratio, "1.0: this classifier was fitted without a translator")
        other = FairClassifier(settings, translator_settings=self.translator_settings, translator=self.translator_,
                               device=self.device, seed=self.seed)
        other.translator_, other.pretrained_ = self.translator_, self.pretrained_ if settings.pretrain else None
        val = (X, y) if validation is None else (validation[0], validation[1])
        other._finetune(X, y, s, val, settings)
        return other

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> np.ndarray:
        """Probability of the favourable label (n,); C never reads the sensitive features."""
        X, _ = self._check_predict(X, sensitive_features)
        return self.network_.predict_proba(X)
