"""Two-dimensional views of latent codes: PCA and t-SNE of teacher codes z vs student codes z'.

``project_latents(z, z_student)`` fits one projection on the pooled codes (so both sets share
axes) and returns a tidy frame for plotting (paper 000, Fig. 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairnb.errors import ParameterError, one_of

METHODS = ("pca", "tsne")


def project_latents(z: np.ndarray, z_student: np.ndarray, method: str = "pca", n: int = 500, seed: int = 0,
                    perplexity: float = 40.0) -> pd.DataFrame:
    """Project ``n`` seeded rows of each code set to 2-D.

    Args:
        z, z_student: arrays (N, z_dim) of teacher and student codes of the same records.
        method: ``pca`` (2 components) or ``tsne`` (2 components, perplexity 40 as the reference).
        n: rows drawn (the same rows from both sets).

    Returns:
        DataFrame with columns ``x``, ``y``, ``source`` ∈ {teacher z, student z'}; 2n rows.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in METHODS:
        raise ParameterError("method", method, one_of(METHODS))
    z, z_student = np.asarray(z, dtype=np.float64), np.asarray(z_student, dtype=np.float64)
    if z.shape != z_student.shape:
        raise ParameterError("z_student", f"shape {z_student.shape}", f"shape {z.shape}, like z", "wrong shape")
    rows = np.random.default_rng(seed).choice(len(z), size=min(n, len(z)), replace=False)
    pooled = np.concatenate([z[rows], z_student[rows]])
    if method == "pca":
        xy = PCA(n_components=2, random_state=seed).fit_transform(pooled)
    else:
        xy = TSNE(n_components=2, perplexity=min(perplexity, (len(pooled) - 1) / 3), random_state=seed, init="pca").fit_transform(pooled)
    source = np.repeat(["teacher z", "student z'"], len(rows))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "source": source})
