"""Shared torch plumbing: the training loop, KL and reparameterisation, gradient penalty,
device and thread handling (and the trained-model store in ``fairnb.nn.store``)."""

from fairnb.nn.train import gaussian_kl, reparameterise, train_loop, train_vae

__all__ = ["gaussian_kl", "reparameterise", "train_loop", "train_vae"]
