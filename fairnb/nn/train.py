"""A generic, seeded training loop shared by every stage of paper 000.

``train_loop`` knows nothing about networks: it takes the parameters to optimise, a ``step``
callable mapping one batch (a tuple of tensors already on the device) to named loss terms, and
the data. ``train_vae`` builds the stage-1 step for any encoder/decoder pair with the contract

    encoder(x, s) -> (mean, logvar)    both (n, z_dim)
    decoder(z, s) -> x_hat             same shape as the reconstruction target

so tabular MLPs and convolutional image networks plug into the same code (an image encoder may
ignore ``s``).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Mapping

import pandas as pd
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from fairnb.errors import ParameterError, TrainingDivergedError
from fairnb.nn.losses import gaussian_kl, reparameterise

Step = Callable[[tuple[torch.Tensor, ...]], Mapping[str, torch.Tensor]]


def _check_positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParameterError(name, value, "a positive int")


def train_loop(parameters: Iterable[nn.Parameter], step: Step, data: TensorDataset, epochs: int, batch_size: int = 2048,
               lr: float = 1e-3, seed: int = 0, device: str = "cpu", modules: Iterable[nn.Module] = ()) -> pd.DataFrame:
    """Optimise ``parameters`` with Adam on ``step``'s ``"loss"`` term.

    Args:
        parameters: the trainable parameters (frozen modules are simply not listed).
        step: batch (tensors on ``device``) → dict of scalar tensors; ``"loss"`` is minimised,
            every term is logged.
        data: a ``TensorDataset``; batches are shuffled by a generator seeded with ``seed``.
        epochs, batch_size, lr: optimisation settings (the reference: Adam, lr 1e-3, batch 2048).
        seed: seeds the shuffling and torch's global RNG (reparameterisation noise).
        device: ``cpu`` or ``cuda``; batches are moved there (modules must already be).
        modules: modules to put in training mode during the loop and back in eval mode after.

    Returns:
        DataFrame with one row per epoch: ``epoch``, the batch-size-weighted mean of each term
        and ``seconds`` (wall time of the epoch).

    Raises:
        TrainingDivergedError: a term became NaN or infinite (names the epoch, step and value).
    """
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ParameterError("lr", lr, "a float > 0")
    parameters = list(parameters)
    modules = list(modules)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    # whole batches are fetched by tensor indexing (one call per batch, not one per row)
    sampler = BatchSampler(RandomSampler(data, generator=generator), batch_size=batch_size, drop_last=False)
    loader = DataLoader(data, sampler=sampler, batch_size=None)
    optimiser = torch.optim.Adam(parameters, lr=lr)
    for module in modules:
        module.train()
    history = []
    try:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            sums: dict[str, float] = {}
            rows = 0
            for index, batch in enumerate(loader, start=1):
                batch = tuple(t.to(device) for t in batch)
                terms = step(batch)
                values = {name: float(value.detach().item()) for name, value in terms.items()}
                bad = {name: v for name, v in values.items() if v != v or v in (float("inf"), float("-inf"))}
                if bad:
                    raise TrainingDivergedError(f"training diverged at epoch {epoch}, step {index}: "
                                                + ", ".join(f"{n}={v}" for n, v in bad.items()))
                optimiser.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimiser.step()
                n = len(batch[0])
                rows += n
                for name, value in values.items():
                    sums[name] = sums.get(name, 0.0) + value * n
            history.append({"epoch": epoch, **{k: v / rows for k, v in sums.items()},
                            "seconds": time.perf_counter() - started})
    finally:
        for module in modules:
            module.eval()
    return pd.DataFrame(history)


def train_vae(encoder: nn.Module, decoder: nn.Module, data: TensorDataset,
              reconstruction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              fairness: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
              beta: float = 0.0, epochs: int = 10, batch_size: int = 2048, lr: float = 1e-3, seed: int = 0,
              device: str = "cpu", fairness_threshold: float = 1.0) -> pd.DataFrame:
    """Train a conditional VAE with a fairness penalty: loss = reconstruction + KL + β·fairness.

    Args:
        encoder, decoder: see the module doc; moved to ``device`` here.
        data: ``TensorDataset(x, s)`` with x the network input / reconstruction target and s
            the int group code (n,).
        reconstruction: (x_hat, x) → scalar, averaged over the batch.
        fairness: (mean, logvar, z, s) → scalar dependence between latent and group (e.g. dCov²);
            always logged as ``fairness``, added to the loss only when β > ``fairness_threshold``
            (the reference adds it only when β > 1, so β = 1 is the unconstrained VAE).
        beta: weight of the fairness term.

    Returns:
        Per-epoch history with columns ``loss``, ``reconstruction``, ``kl``, ``fairness`` (when
        given), ``seconds``.
    """
    if not isinstance(beta, (int, float)) or beta < 0 or beta != beta:
        raise ParameterError("beta", beta, "a float >= 0")
    encoder.to(device)
    decoder.to(device)
    use_fairness = fairness is not None and beta > fairness_threshold

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x, s = batch[0], batch[1]
        mean, logvar = encoder(x, s)
        z = reparameterise(mean, logvar)
        recon = reconstruction(decoder(z, s), x)
        kl = gaussian_kl(mean, logvar)
        terms = {"reconstruction": recon, "kl": kl}
        loss = recon + kl
        if fairness is not None:
            if use_fairness:
                fair = fairness(mean, logvar, z, s)
                loss = loss + beta * fair
            else:
                with torch.no_grad():
                    fair = fairness(mean, logvar, z, s)
            terms["fairness"] = fair
        return {"loss": loss, **terms}

    params = list(encoder.parameters()) + list(decoder.parameters())
    return train_loop(params, step, data, epochs, batch_size, lr, seed, device, modules=(encoder, decoder))
