"""Shared torch plumbing: the training loop, KL and reparameterisation, gradient penalty,
device and thread handling (and the trained-model store in ``fairnb.nn.store``)."""

from fairnb.nn.device import generator_for, resolve_device, single_thread_on_cpu
from fairnb.nn.losses import gaussian_kl, gradient_penalty, reparameterise
from fairnb.nn.train import train_loop, train_vae

__all__ = ["gaussian_kl", "generator_for", "gradient_penalty", "reparameterise", "resolve_device", "single_thread_on_cpu", "train_loop", "train_vae"]
