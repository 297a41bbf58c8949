"""How paper 000's fair records are built from latent codes: the one construction every row uses.

The paper decodes fair records from the fair latent (§4.3, x_fair ∼ D_θ(z'), z' ∼ E'(x, s)). The decoder
D(z, s) needs a group in its input, and a record for a downstream classifier needs a sensitive value and
a label, which FairDisco does not model. ``decode_records`` builds them one way for our students, the
FairDisco row and the FLDGMs row:

- ``construction="random_group"`` (the book's reading of the paper, the default): each record is decoded
  as a group s' drawn independently of its source record — the sensitive value of a training record drawn
  at random, so the groups keep the data's shares — and s' is written into the record's sensitive column;
  the label is the source record's. The decoded features then depend on the source's group only through z,
  which the fair latent makes (nearly) independent of it, and the sensitive column is independent of the
  label.
- ``construction="source_group"`` (the ablation; the book's earlier construction): each record is decoded
  with its source record's own group, whose sensitive value and label are copied into it. Measured on
  Adult/sex, the copied column then becomes the classifier's best label signal — the fairer the latent,
  the *less* fair the downstream classifier — so it is shown only as a labelled ablation.

Categorical blocks are sampled from their softmax by default (``categorical_decoding="sample"``: a
generator samples); ``"argmax"`` takes each block's most likely category, which collapses rare categories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

import fairnb.data
from fairnb.data.encoder import CATEGORICAL_DECODINGS, TabularEncoder
from fairnb.errors import ParameterError, one_of

if TYPE_CHECKING:
    from fairnb.paper000.fairdisco import FairDisco

CONSTRUCTIONS = ("random_group", "source_group")
CONSTRUCTION_LABELS = {"random_group": "decoded as a random group (the paper's reading)",
                       "source_group": "decoded as the source's group, its sensitive value and label copied (ablation)"}
DECODING_LABELS = {"sample": "categories sampled from the softmax", "argmax": "arg-max categories"}


def check_construction(construction: str, categorical_decoding: str) -> tuple[str, str]:
    """Both settings, validated before any compute (``ParameterError`` naming the bad one)."""
    if construction not in CONSTRUCTIONS:
        raise ParameterError("construction", construction, one_of(CONSTRUCTIONS))
    if categorical_decoding not in CATEGORICAL_DECODINGS:
        raise ParameterError("categorical_decoding", categorical_decoding, one_of(CATEGORICAL_DECODINGS))
    return construction, categorical_decoding


CONSTRUCTION_STREAM = 3_000  # tags the construction's random stream apart from default_rng(seed)


def construction_rng(seed: int) -> np.random.Generator:
    """The random generator of one ``decode_records`` call: seeded by ``seed`` on a stream of its own."""
    return np.random.default_rng([int(seed), CONSTRUCTION_STREAM])


def decoding_groups(source: pd.DataFrame, pool: pd.DataFrame, dataset: fairnb.data.TabularDataset, sensitive: str,
                    construction: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The sensitive values (n,) written into the records and their group codes (n,) given to the decoder.

    ``random_group``: the sensitive values of ``len(source)`` records of ``pool`` drawn with replacement by
    ``rng`` (independent of ``source``; the pool's group shares); ``source_group``: ``source``'s own.
    """
    if construction == "random_group":
        values = pool[sensitive].to_numpy()[rng.integers(0, len(pool), size=len(source))]
    else:
        values = source[sensitive].to_numpy()
    return values, fairnb.data.group_codes(pd.DataFrame({sensitive: values}), dataset, sensitive)


def decode_records(teacher: "FairDisco", encoder: TabularEncoder, z: torch.Tensor | np.ndarray, source: pd.DataFrame,
                   pool: pd.DataFrame, *, dataset: fairnb.data.TabularDataset, sensitive: str,
                   construction: str = "random_group", categorical_decoding: str = "sample", seed: int) -> pd.DataFrame:
    """Records decoded from codes ``z`` (n, z_dim) by the teacher's decoder, one per row of ``source``.

    Args:
        teacher: the trained FairDisco whose decoder D(z, s) is used.
        encoder: the feature encoding the teacher was trained on (its ``inverse_transform`` decodes).
        z: latent codes, one per source row.
        source: the records the codes stand for (n rows; their labels are kept).
        pool: the training records whose sensitive values ``random_group`` draws from.
        dataset, sensitive: the data's schema and the audited attribute.
        construction, categorical_decoding: see the module doc.
        seed: seeds the group draw and the categorical sampling, on a stream of their own (``construction_rng``),
            so a caller that drew the source rows with ``default_rng(seed)`` does not draw the same numbers again.

    Returns:
        DataFrame with ``source``'s columns and dtypes: features decoded, the label copied, the sensitive
        column the decoded group's value.
    """
    check_construction(construction, categorical_decoding)
    rng = construction_rng(seed)
    source = source.reset_index(drop=True)
    values, codes = decoding_groups(source, pool, dataset, sensitive, construction, rng)
    z = torch.as_tensor(np.asarray(z, dtype=np.float32) if not isinstance(z, torch.Tensor) else z)
    decoded = encoder.inverse_transform(teacher.decode(z, codes), categorical=categorical_decoding, rng=rng)
    out = source.copy()
    for column in decoded.columns:
        out[column] = decoded[column].to_numpy()
    out[sensitive] = values
    return out.astype(source.dtypes.to_dict())
