"""Dataset registry: ``fairnb.data.load(name)`` for the six datasets of the book.

Tabular (``TabularDataset``): adult, compas, german (vendored real files), meps (user-supplied).
Images (``ImageDataset``): colour_mnist (vendored MNIST digits), celeba (user-supplied).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from fairnb.data.encoder import Block, TabularEncoder
from fairnb.data.images import ImageDataset, load_celeba, load_colour_mnist
from fairnb.data.splits import PAPER_000, PAPER_002, stratified_split
from fairnb.data.tabular import TabularDataset, data_checksums, load_adult, load_compas, load_german, load_meps
from fairnb.errors import ParameterError, one_of

LOADERS: dict[str, Callable[..., Any]] = {
    "adult": load_adult,
    "compas": load_compas,
    "german": load_german,
    "meps": load_meps,
    "celeba": load_celeba,
    "colour_mnist": load_colour_mnist,
}
TABULAR = ("adult", "compas", "german", "meps")
IMAGES = ("celeba", "colour_mnist")
SENSITIVE = {
    "adult": ("sex", "race"),
    "compas": ("sex", "race"),
    "german": ("sex", "age_group"),
    "meps": ("RACE",),
    "celeba": ("Smiling",),
    "colour_mnist": ("colour",),
}
USER_SUPPLIED = ("meps", "celeba")

_cache: dict[tuple, Any] = {}


def load(name: str, **options: Any) -> TabularDataset | ImageDataset:
    """Load dataset ``name`` (see ``LOADERS``); options go to its loader (e.g. ``data_path``).

    Results are cached per process and options, so notebooks can call this freely.
    """
    if not isinstance(name, str) or name not in LOADERS:
        raise ParameterError("dataset", name, one_of(LOADERS))
    key = (name, tuple(sorted(options.items())))
    if key not in _cache:
        _cache[key] = LOADERS[name](**options)
    return _cache[key]


def encoder_for(dataset: TabularDataset, scaling: str = "standard") -> TabularEncoder:
    """An unfitted ``TabularEncoder`` for the dataset's feature columns."""
    return TabularEncoder(dataset.categorical, dataset.numeric, dataset.integer, scaling=scaling)


def split(dataset: TabularDataset, sensitive: str, fractions=PAPER_000, seed: int = 0):
    """Seeded split of a tabular dataset's rows, stratified by (target, privileged group)."""
    strata = 2 * dataset.labels() + dataset.is_privileged(sensitive)
    return stratified_split(strata, fractions, seed)


__all__ = [
    "Block", "ImageDataset", "LOADERS", "IMAGES", "PAPER_000", "PAPER_002", "SENSITIVE", "TABULAR",
    "TabularDataset", "TabularEncoder", "USER_SUPPLIED", "data_checksums", "encoder_for", "load",
    "split", "stratified_split",
]


def group_codes(frame: pd.DataFrame, dataset: TabularDataset, sensitive: str) -> np.ndarray:
    """Int array (n,): 1 where a record is in the privileged group of ``sensitive``, else 0."""
    return (frame[sensitive].astype(str) == str(dataset.privileged[sensitive])).to_numpy().astype(np.int64)
