"""Stage 2 of paper 000 (Algorithm 1): distil the teacher's fair latent space into a smaller encoder.

The teacher E (stage 1) is frozen. For each batch (x, s): z ~ E(x, s), z' ~ E'(x, s) and

    L = Σ_j ℓ(z_j, z'_j) + λ · KL(q(z' | x, s) ‖ N(0, I))

with ℓ one of the quality losses below, each summed over the latent dimensions and averaged
over the batch:

- ``l1``: Σ_j |z_j − z'_j|
- ``mse``: Σ_j (z_j − z'_j)²
- ``huber``: Σ_j huber_δ(z_j − z'_j), δ = 1 (PyTorch's default)
- ``mean_difference``: Σ_j |mean_batch z_j − mean_batch z'_j|. The paper does not define MD;
  we read it as the distance between the batch means (a first-moment match), the reading that
  differs from L1. It matches the distribution of z', not each record's z, so z' of a single
  record need not be close to its teacher code.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from fairnb.errors import ParameterError, one_of
from fairnb.paper000.fairdisco import MLPEncoder
from fairnb.nn.train import Training, TrainingRule, gaussian_kl, reparameterise, train_loop
from fairnb.paper000.names import QUALITY_LOSSES

TEACHER_TARGETS = ("sample", "mean")


def quality_loss_fn(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The quality loss ``ℓ(z, z_student)`` → scalar (see module doc). z and z' are (n, z_dim)."""
    if name not in QUALITY_LOSSES:
        raise ParameterError("quality_loss", name, one_of(QUALITY_LOSSES))
    if name == "l1":
        return lambda z, zs: (z - zs).abs().sum(1).mean()
    if name == "mse":
        return lambda z, zs: (z - zs).pow(2).sum(1).mean()
    if name == "huber":
        return lambda z, zs: F.huber_loss(zs, z, reduction="none", delta=1.0).sum(1).mean()
    return lambda z, zs: (z.mean(0) - zs.mean(0)).abs().sum()


def check_lam(lam: float) -> float:
    """λ, the weight of the KL term: a finite float > 0 (paper: 1..10)."""
    if not isinstance(lam, (int, float, np.floating)) or isinstance(lam, bool) or not np.isfinite(lam) or lam <= 0:
        raise ParameterError("lam", lam, "a finite float > 0 (the paper uses 1..10)")
    return float(lam)


class StudentEncoder(MLPEncoder):
    """E'(x, s) → (mean, logvar), each (n, z_dim): the teacher's MLP with a narrower hidden layer,
    Linear(x_dim + s_dim, h) → ReLU → Linear(h, 2·z_dim), h = 32 (the teacher uses 64)."""

    def __init__(self, x_dim: int, s_dim: int = 2, h_dim: int = 32, z_dim: int = 8):
        super().__init__(x_dim, s_dim, h_dim, z_dim)


def distill(teacher: nn.Module, student: nn.Module, x: np.ndarray, s: np.ndarray, training: Training, *,
            quality_loss: str = "l1", lam: float = 1.0, teacher_target: str = "sample",
            validation: tuple[np.ndarray, np.ndarray] | None = None, show_progress: bool | None = None) -> pd.DataFrame:
    """Train ``student`` to reproduce the frozen ``teacher``'s latent codes (Algorithm 1).

    Args:
        teacher, student: encoders (x, s) → (mean, logvar) with the same z_dim.
        x: features (n, x_dim); s: group codes (n,).
        training: epochs (about 200 in the paper), batch size, learning rate, seed, device and stopping
            rule (``fairnb.nn.train.Training``).
        quality_loss: one of ``QUALITY_LOSSES``; lam: KL weight λ > 0.
        teacher_target: ``sample`` (z ~ q(z|x,s), as Algorithm 1 says) or ``mean`` (μ, an ablation).
        validation: held-out (x, s) rows: every term is also evaluated on them after each epoch
            (``val_*``); with ``training.patience`` > 0 training stops once the validation loss stops
            improving by ``min_delta`` (``fairnb.nn.train.StoppingRule``), keeping the best epoch.

    Returns:
        Per-epoch history: ``loss``, ``quality``, ``kl``, ``distance`` (mean ‖z − z'‖₂ per row),
        their ``val_`` twins with ``validation``, ``seconds``; ``convergence(history)`` says how it ended.
    """
    ell = quality_loss_fn(quality_loss)
    lam = check_lam(lam)
    if teacher_target not in TEACHER_TARGETS:
        raise ParameterError("teacher_target", teacher_target, one_of(TEACHER_TARGETS))
    teacher.to(training.device).eval()
    student.to(training.device)
    for p in teacher.parameters():
        p.requires_grad_(False)

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        xb, sb = batch
        with torch.no_grad():
            t_mean, t_logvar = teacher(xb, sb)
            z = reparameterise(t_mean, t_logvar) if teacher_target == "sample" else t_mean
        mean, logvar = student(xb, sb)
        z_student = reparameterise(mean, logvar)
        quality = ell(z, z_student)
        kl = gaussian_kl(mean, logvar)
        with torch.no_grad():
            distance = (z - z_student).norm(dim=1).mean()
        return {"loss": quality + lam * kl, "quality": quality, "kl": kl, "distance": distance}

    def tensors(features: np.ndarray, groups: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(np.asarray(features, dtype=np.float32)), torch.as_tensor(np.asarray(groups), dtype=torch.long)

    try:
        return train_loop(student.parameters(), step, tensors(x, s), training, modules=(student,),
                          validation=tensors(*validation) if validation is not None else None,
                          progress_desc=f"student ({quality_loss})", show_progress=show_progress)
    finally:
        for p in teacher.parameters():
            p.requires_grad_(True)


def stage_curves(teacher_history: pd.DataFrame, student_histories: pd.DataFrame, teacher_epochs: int,
                 student_epochs: int, *, training: TrainingRule) -> tuple[dict[str, pd.DataFrame], dict]:
    """Learning curves and ``Convergence`` of a teacher and its students, for ``fairnb.viz.curves``.

    ``student_histories``: the students' histories stacked with a ``quality_loss`` column (as
    ``distillation_study`` returns them). A history that lost its ``Convergence`` in the stacking
    gets it back by replaying ``training``'s rule (the run's ``config.training``; ``fairnb.nn.train.replay``) on its
    validation loss.
    """
    from fairnb.nn.train import convergence, replay

    curves = {"teacher": teacher_history}
    for loss, part in student_histories.groupby("quality_loss", sort=False):
        curves[f"student ({loss})"] = part.drop(columns="quality_loss").reset_index(drop=True)
    rules = {name: training.rule(teacher_epochs if name == "teacher" else student_epochs) for name in curves}
    found = {name: convergence(history) or replay(history, rules[name], "validation loss") for name, history in curves.items()}
    return curves, found
