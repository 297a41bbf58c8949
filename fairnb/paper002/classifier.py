"""The classifier C of paper 002 and its two-step training on generated fair data.

C is a 3-layer ReLU network with dropout (paper: p = 0.7) over max-abs scaled features that
exclude the sensitive attribute. Training (paper Alg. 1, steps 2–3):

1. **pre-train** on a balanced synthetic set drawn from the translator, F(z, (a, y)) with
   z ~ N(0, I) and a quarter of the rows in each (a, y) domain, label y;
2. **fine-tune** on the real training rows mixed with their synthetic pairs (each real row
   translated into (1 − a, ỹ), label ỹ): every batch holds a share ``real_ratio`` of real rows
   (the paper: 0.5, not tuned).

Each phase keeps the weights of the epoch with the best validation balanced accuracy (the
paper's "train until validation accuracy converges"). ``fit_plain`` trains the same network on
real rows only: the paper's "Baseline".
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as tf
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.paper002.translator import FairTranslator, check_xay

RATIO_SWEEP = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


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
    """

    epochs: int = 20
    hidden: int = 256
    dropout: float = 0.7
    lr: float = 1e-3
    batch_size: int = 128
    real_ratio: float = 0.5

    def __post_init__(self) -> None:
        for name in ("epochs", "hidden", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "an int >= 1")
        if not (0.0 <= self.dropout < 1.0):
            raise ParameterError("dropout", self.dropout, "a float in [0, 1)")
        if not (0.0 <= self.real_ratio <= 1.0):
            raise ParameterError("real_ratio", self.real_ratio, "a float in [0, 1]")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ParameterError("lr", self.lr, "a finite float > 0")


class FairClassifier:
    """C with the paper's pre-train / fine-tune schedule (see module doc).

    ``predict(x)`` returns int labels (n,) thresholded at ½; ``predict_proba(x)`` the probability
    of the favourable label (n,). ``curve`` records (phase, epoch, train loss, validation BA).
    """

    def __init__(self, settings: ClassifierSettings | None = None, device: str = "cpu", seed: int = 0):
        self.settings = settings or ClassifierSettings()
        self.device = torch.device(device)
        self.seed = int(seed)
        self.model: Classifier | None = None
        self.curve: list[dict] = []

    def _init(self, d: int) -> None:
        torch.manual_seed(self.seed)
        self.model = Classifier(d, self.settings.hidden, self.settings.dropout).to(self.device)

    # -- phases
    def pretrain(self, translator: FairTranslator, n_rows: int, val: tuple[np.ndarray, np.ndarray]) -> "FairClassifier":
        """Phase 1: ``n_rows`` fresh balanced synthetic rows per epoch (label = requested y)."""
        x_val, y_val = val
        if self.model is None:
            self._init(np.asarray(x_val).shape[1])
        per_domain = max(1, n_rows // 4)

        def epoch_data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            x, _, y = translator.sample(per_domain, seed=self.seed * 100_003 + epoch)
            return x, y

        return self._train("pretrain", epoch_data, val)

    def finetune(self, x: np.ndarray, a: np.ndarray, y: np.ndarray, translator: FairTranslator | None,
                 val: tuple[np.ndarray, np.ndarray], real_ratio: float | None = None) -> "FairClassifier":
        """Phase 2: real rows + their synthetic pairs, a share ``real_ratio`` real in every batch.

        ``translator=None`` or ``real_ratio=1`` trains on real rows only. One epoch draws
        len(x) rows in total; pairs are re-drawn (new ỹ) every epoch.
        """
        x, a, y = check_xay(x, a, y)
        ratio = self.settings.real_ratio if real_ratio is None else float(real_ratio)
        if not 0.0 <= ratio <= 1.0:
            raise ParameterError("real_ratio", real_ratio, "a float in [0, 1]")
        if translator is None and ratio < 1.0:
            raise ParameterError("translator", None, "a fitted FairTranslator when real_ratio < 1")
        if self.model is None:
            self._init(x.shape[1])
        rng = np.random.default_rng(self.seed)
        n, bs = len(x), self.settings.batch_size

        def epoch_data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
            if ratio >= 1.0:
                order = rng.permutation(n)
                return x[order], y[order]
            x_g, _, y_g = translator.pairs(x, a, y, seed=self.seed * 100_003 + epoch)
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

        return self._train(f"finetune r={ratio:g}", epoch_data, val)

    def fit_plain(self, x: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray],
                  sample_weight: np.ndarray | None = None) -> "FairClassifier":
        """C on real rows only (the paper's Baseline); optional per-row weights (n,) scale the loss."""
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        self._init(x.shape[1])
        rng = np.random.default_rng(self.seed)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)

        def epoch_data(epoch: int):
            order = rng.permutation(len(x))
            return (x[order], y[order]) if w is None else (x[order], y[order], w[order])

        return self._train("plain", epoch_data, val)

    def _train(self, phase: str, epoch_data, val) -> "FairClassifier":
        assert self.model is not None
        s = self.settings
        x_val, y_val = np.asarray(val[0], dtype=np.float32), np.asarray(val[1])
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

    def copy(self, seed: int | None = None) -> "FairClassifier":
        """An independent copy (same weights) to fine-tune from a shared pre-trained state."""
        other = FairClassifier(self.settings, str(self.device), self.seed if seed is None else seed)
        other.model = copy.deepcopy(self.model)
        other.curve = list(self.curve)
        return other

    # -- use
    @torch.no_grad()
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("FairClassifier is not fitted")
        self.model.eval()
        X = torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)
        return torch.sigmoid(self.model(X)).cpu().numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x) >= 0.5).astype(np.int64)
