"""Tabular encoder: one-hot categoricals + scaled numerics, with an exact inverse.

``TabularEncoder.fit(frame)`` learns each categorical column's domain and each numeric column's
mean, standard deviation, minimum and maximum. ``transform`` returns a float32 array of shape
(n, width) whose columns are laid out in ``blocks`` order; ``inverse_transform`` maps any such
array (real or generated) back to a DataFrame of *valid* records: categoricals take the arg-max
category of their block (``categorical="argmax"``, the default) or a category sampled from the
softmax of the block's values read as logits (``categorical="sample"``, what a generator's decoder
does), always a value seen in ``fit``; numerics are un-scaled, clipped to the fitted range and
rounded when the column holds integers. On encoded real data the arg-max round trip is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError, one_of

CATEGORICAL_DECODINGS = ("sample", "argmax")


@dataclass(frozen=True)
class Block:
    """One column's slice of the encoded array."""

    column: str
    kind: Literal["categorical", "numeric"]
    start: int
    stop: int
    categories: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


class TabularEncoder:
    """One-hot + standardised encoding with an exact, domain-respecting inverse.

    Args:
        categorical: columns encoded one-hot (values compared as strings).
        numeric: columns standardised to zero mean, unit variance (``scaling="standard"``)
            or mapped to [0, 1] (``scaling="minmax"``).
        integer: numeric columns rounded to integers by ``inverse_transform``.
    """

    def __init__(self, categorical: list[str], numeric: list[str], integer: list[str] | None = None,
                 scaling: Literal["standard", "minmax"] = "standard"):
        if scaling not in ("standard", "minmax"):
            raise ParameterError("scaling", scaling, "standard, minmax")
        self.categorical = list(categorical)
        self.numeric = list(numeric)
        self.integer = set(integer or [])
        self.scaling = scaling
        self.blocks: list[Block] = []
        self._center: dict[str, float] = {}
        self._scale: dict[str, float] = {}
        self._range: dict[str, tuple[float, float]] = {}

    @property
    def width(self) -> int:
        """Number of encoded columns."""
        return self.blocks[-1].stop if self.blocks else 0

    @property
    def feature_names(self) -> list[str]:
        """Name of each encoded column (``column=category`` for one-hot columns)."""
        names: list[str] = []
        for block in self.blocks:
            names += [f"{block.column}={c}" for c in block.categories] if block.kind == "categorical" else [block.column]
        return names

    def fit(self, frame: pd.DataFrame) -> "TabularEncoder":
        missing = [c for c in self.categorical + self.numeric if c not in frame.columns]
        if missing:
            raise ParameterError("frame", f"columns {list(frame.columns)[:8]}…", f"a frame with columns {missing}", "columns missing")
        self.blocks, start = [], 0
        for column in self.categorical:
            categories = tuple(sorted(frame[column].astype(str).unique()))
            self.blocks.append(Block(column, "categorical", start, start + len(categories), categories))
            start += len(categories)
        for column in self.numeric:
            values = frame[column].to_numpy(dtype=np.float64)
            low, high = float(values.min()), float(values.max())
            if self.scaling == "standard":
                center, scale = float(values.mean()), float(values.std())
            else:
                center, scale = low, high - low
            self._center[column], self._scale[column] = center, scale if scale > 0 else 1.0
            self._range[column] = (low, high)
            self.blocks.append(Block(column, "numeric", start, start + 1))
            start += 1
        return self

    def _check_fitted(self) -> None:
        if not self.blocks:
            raise RuntimeError("TabularEncoder is not fitted: call fit(frame) first")

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` to a float32 array (n, width). Unknown categories raise."""
        self._check_fitted()
        out = np.zeros((len(frame), self.width), dtype=np.float32)
        for block in self.blocks:
            if block.kind == "categorical":
                values = frame[block.column].astype(str).to_numpy()
                index = {c: i for i, c in enumerate(block.categories)}
                unknown = set(values) - set(index)
                if unknown:
                    raise ParameterError(block.column, sorted(unknown)[0], f"categories seen in fit: {list(block.categories)[:6]}…", "unknown category")
                out[np.arange(len(frame)), block.start + np.array([index[v] for v in values], dtype=np.int64)] = 1.0
            else:
                values = frame[block.column].to_numpy(dtype=np.float64)
                out[:, block.start] = (values - self._center[block.column]) / self._scale[block.column]
        return out

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def inverse_transform(self, encoded: np.ndarray, categorical: str = "argmax",
                          rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Decode an array (n, width) to a DataFrame of valid records (see module doc).

        Args:
            encoded: real encodings or a decoder's output (logits per categorical block).
            categorical: ``argmax`` (each block's largest value) or ``sample`` (a category drawn
                from the softmax of the block, with ``rng``).
            rng: the random generator of ``sample`` (required there).
        """
        self._check_fitted()
        if categorical not in CATEGORICAL_DECODINGS:
            raise ParameterError("categorical_decoding", categorical, one_of(CATEGORICAL_DECODINGS))
        if categorical == "sample" and rng is None:
            raise ParameterError("rng", rng, "a numpy Generator when categorical blocks are sampled")
        encoded = np.asarray(encoded, dtype=np.float64)
        if encoded.ndim != 2 or encoded.shape[1] != self.width:
            raise ParameterError("encoded", f"array of shape {encoded.shape}", f"shape (n, {self.width})", "wrong shape")
        columns: dict[str, np.ndarray] = {}
        for block in self.blocks:
            values = encoded[:, block.slice]
            if block.kind == "categorical":
                index = values.argmax(axis=1) if categorical == "argmax" else sample_categories(values, rng)
                columns[block.column] = np.asarray(block.categories, dtype=object)[index]
            else:
                low, high = self._range[block.column]
                # float32 storage loses ~1e-7 relative precision; rounding integers absorbs it.
                restored = np.clip(values[:, 0] * self._scale[block.column] + self._center[block.column], low, high)
                columns[block.column] = np.rint(restored).astype(np.int64) if block.column in self.integer else restored
        frame = pd.DataFrame(columns)
        for block in self.blocks:
            if block.kind == "categorical":
                frame[block.column] = frame[block.column].astype(str)
        return frame


def sample_categories(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category index per row (n,), drawn from the softmax of ``logits`` (n, k) with ``rng``
    (inverse-CDF sampling: one uniform number per row, so the draw depends on the seed only)."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp of the largest is 1: no overflow
    probabilities = np.exp(shifted)
    cumulative = np.cumsum(probabilities, axis=1)
    uniform = rng.random(len(logits)) * cumulative[:, -1]
    return np.minimum((cumulative <= uniform[:, None]).sum(axis=1), logits.shape[1] - 1)
