"""Loss terms shared by the generative models of both papers."""

from __future__ import annotations

from typing import Callable

import torch


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(logvar))) ‖ N(0, I)) for (n, z) tensors, summed over z, averaged over rows (nats)."""
    return -0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).sum(-1).mean()


def reparameterise(mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mean + ε·exp(logvar/2), ε ~ N(0, I) from ``generator`` (torch's global RNG when None)."""
    noise = torch.randn(mean.shape, dtype=mean.dtype, device=mean.device, generator=generator)
    return mean + noise * torch.exp(0.5 * logvar)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): mean over the batch of (‖∇C(x̂)‖₂ − 1)².

    ``real`` and ``fake`` are (batch, width) on one device; x̂ are random interpolations with
    weights drawn from ``generator``; ``critic`` maps (batch, width) to scores (batch,) or (batch, 1).
    """
    alpha = torch.rand(real.shape[0], 1, device=real.device, generator=generator)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()
