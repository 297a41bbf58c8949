"""Device and thread handling, one rule for every model."""

from __future__ import annotations

import torch

from fairnb.errors import ParameterError


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` → CUDA when a GPU is visible, else CPU; ``cuda`` without a visible GPU raises."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device", str(device), "auto, cpu (no CUDA device is visible)")
    return torch.device(device)


def single_thread_on_cpu(device: str | torch.device) -> None:
    """On CPU, run torch on one intra-op thread.

    The networks of both papers are small (≤ 256 units); runs execute side by side under Dask, one
    per core, and with two threads per process on a shared 2-core machine stage-1 training was about
    4× and a classifier epoch 13× slower than with one.
    """
    if str(device).startswith("cpu"):
        torch.set_num_threads(1)


def generator_for(seed: int, device: torch.device | str) -> torch.Generator:
    """A seeded torch random generator on ``device`` (one per model: runs do not share streams)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
