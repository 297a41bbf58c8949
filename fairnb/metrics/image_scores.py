"""Evaluation of generated images: train on generated, test on real; density/coverage in an embedding.

Protocol (paper 000 reports "utility and fairness" of generated images without details; ours):

1. A small CNN (``SmallCNN``) is trained on the **generated** training images with the source
   images' target labels and tested on the **real** test images. The same CNN trained on the real
   training images is the reference ("real" row).
2. Accuracy is over the dataset's target classes (10 digits for Colour-MNIST, Male vs not for
   CelebA). Fairness needs a binary decision: the **event** is ``target == 1`` for CelebA (the
   prediction "Male") and ``digit >= 5`` for Colour-MNIST (the half of the digits whose colour is
   green with probability ``correlation``; ``binary_event``). For that event, with groups given by
   the sensitive attribute (fairlearn):

   - DPR (demographic parity ratio) = min_g P(ŷ = 1 | g) / max_g P(ŷ = 1 | g);
   - EOR (equalised odds ratio) = min(TPR ratio, FPR ratio), each min/max over groups.

   1 means parity; the digit ≥ 5 event is the one the colour is correlated with, so a classifier
   that leans on colour shows it there.
3. Density and coverage (Naeem et al. 2020; ``fairnb.metrics.density``) are computed in a learned
   embedding, not on pixels: the 128-d penultimate layer (after ReLU) of a ``SmallCNN`` trained on
   the **real** training images to predict the target. Real = embedded real test images,
   synthetic = embedded generated images, k = 5, equal numbers of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_ratio
from torch import nn
from torch.utils.data import TensorDataset

from fairnb.errors import ParameterError, one_of
from fairnb.metrics.density import density_coverage
from fairnb.nn.train import Training, train_loop

EVENTS = {"colour_mnist": "digit >= 5", "celeba": "target == 1"}
EMBEDDING_DIM = 128


def binary_event(dataset: str, target: np.ndarray) -> np.ndarray:
    """The binary decision the fairness ratios are computed on (see module doc): int array (n,)."""
    target = np.asarray(target)
    if dataset == "colour_mnist":
        return (target >= 5).astype(np.int64)
    if dataset == "celeba":
        return (target == 1).astype(np.int64)
    raise ParameterError("dataset", dataset, one_of(EVENTS))


class SmallCNN(nn.Module):
    """Classifier (n, c, size, size) in [0, 1] → logits (n, n_classes).

    Two 3×3 convolution blocks (16, 32 channels, each ReLU + 2×2 max-pool), average pooling to 4×4,
    a 128-unit ReLU layer (the embedding of ``embed``) and a linear output layer.
    """

    def __init__(self, channels: int = 3, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(32 * 16, EMBEDDING_DIM), nn.ReLU(True))
        self.head = nn.Linear(EMBEDDING_DIM, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (n, 128)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _check_images(x: Any, name: str = "images") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4 or not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(name, f"array {x.dtype} of shape {x.shape}", "float array (n, c, h, w) in [0, 1]", "wrong shape")
    return x.astype(np.float32, copy=False)


def train_classifier(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int = 5, batch_size: int = 128,
                     lr: float = 1e-3, seed: int = 0, device: str = "cpu") -> SmallCNN:
    """Train a ``SmallCNN`` on images x (n, c, h, w) float in [0, 1] and labels y (n,) in 0..n_classes-1
    with cross-entropy and Adam (the shared ``train_loop``); returns it in eval mode on ``device``.
    The per-epoch history is in ``model.history``."""
    x = _check_images(x)
    y = np.asarray(y)
    if y.shape != (len(x),) or (len(y) and (y.min() < 0 or y.max() >= n_classes)):
        raise ParameterError("y", f"array of shape {y.shape}", f"({len(x)},) labels in 0..{n_classes - 1}")
    torch.manual_seed(seed)
    model = SmallCNN(x.shape[1], n_classes).to(device)

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        logits = model(batch[0])
        loss = F.cross_entropy(logits, batch[1])
        return {"loss": loss, "accuracy": (logits.argmax(1) == batch[1]).float().mean()}

    data = TensorDataset(torch.from_numpy(x), torch.as_tensor(y, dtype=torch.long))
    training = Training(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device)
    model.history = train_loop(model.parameters(), step, data, training, modules=(model,))
    return model


@torch.no_grad()
def _batched(fn, x: np.ndarray, device: str, chunk: int = 1024) -> np.ndarray:
    return torch.cat([fn(torch.from_numpy(x[i:i + chunk]).to(device)).cpu() for i in range(0, len(x), chunk)]).numpy()


def predict(model: SmallCNN, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Predicted class (n,) int of images x (n, c, h, w)."""
    model.eval()
    return _batched(lambda b: model(b).argmax(1), _check_images(x), device)


def embed(model: SmallCNN, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Penultimate-layer embedding (n, 128) float32 of images x."""
    model.eval()
    return _batched(model.embed, _check_images(x), device)


def downstream_scores(dataset: str, y_true: np.ndarray, y_pred: np.ndarray, sensitive: np.ndarray) -> dict[str, float]:
    """Accuracy over the target classes, and DPR / EOR of the binary event across sensitive groups.

    Returns:
        ``accuracy``, ``dpr``, ``eor`` (ratios in [0, 1], 1 = parity) and ``positive_rate/<g>``,
        the predicted event rate in each group g (so a ratio can be read back to its rates).
    """
    y_true, y_pred, sensitive = (np.asarray(v) for v in (y_true, y_pred, sensitive))
    if not (y_true.shape == y_pred.shape == sensitive.shape) or y_true.ndim != 1:
        raise ParameterError("y_pred", f"shapes {y_true.shape}, {y_pred.shape}, {sensitive.shape}", "three 1-d arrays of equal length")
    if len(np.unique(sensitive)) < 2:
        raise ParameterError("sensitive", np.unique(sensitive).tolist(), "at least two groups present")
    event_true, event_pred = binary_event(dataset, y_true), binary_event(dataset, y_pred)
    scores = {"accuracy": float((y_true == y_pred).mean()),
              "dpr": float(demographic_parity_ratio(event_true, event_pred, sensitive_features=sensitive)),
              "eor": float(equalized_odds_ratio(event_true, event_pred, sensitive_features=sensitive))}
    for g in np.unique(sensitive):
        scores[f"positive_rate/{int(g)}"] = float(event_pred[sensitive == g].mean())
    return scores


def embedding_density_coverage(embedder: SmallCNN, real: np.ndarray, generated: np.ndarray, k: int = 5,
                               n: int | None = None, seed: int = 0, device: str = "cpu") -> dict[str, float]:
    """Density and coverage of generated vs real images in ``embedder``'s 128-d penultimate layer.

    Args:
        embedder: a ``SmallCNN`` trained on real images (see module doc).
        real, generated: float images (N, c, h, w) and (M, c, h, w) in [0, 1].
        k: nearest neighbours (5, as synthcity / prdc).
        n: draw at most n images of each set (seeded), the same number from both; None = min(N, M).

    Returns:
        ``{"density": float, "coverage": float}`` (density is unbounded; coverage in [0, 1]).
    """
    real, generated = _check_images(real, "real"), _check_images(generated, "generated")
    if real.shape[1:] != generated.shape[1:]:
        raise ParameterError("generated", f"images of shape {generated.shape[1:]}", f"{real.shape[1:]}, like real", "wrong shape")
    size = min(len(real), len(generated), n or len(real))
    rng = np.random.default_rng(seed)
    real = real[np.sort(rng.choice(len(real), size, replace=False))]
    generated = generated[np.sort(rng.choice(len(generated), size, replace=False))]
    return density_coverage(embed(embedder, real, device), embed(embedder, generated, device), k=k, device=device)
