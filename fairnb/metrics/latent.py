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


def group_auc(codes_train: np.ndarray, groups_train: np.ndarray, codes_test: np.ndarray, groups_test: np.ndarray,
              seed: int = 0) -> float:
    """How well codes predict the sensitive group: ROC AUC on held-out codes of a classifier fitted on
    ``codes_train`` (n, d) → ``groups_train`` (n,) int 0/1.

    0.5 means the codes carry no group information a random forest (100 trees, seeded) can find; 1.0 means
    the group is read off the codes exactly. NaN when either part holds a single group.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score

    codes_train, codes_test = np.asarray(codes_train, dtype=np.float64), np.asarray(codes_test, dtype=np.float64)
    groups_train, groups_test = np.asarray(groups_train).astype(np.int64), np.asarray(groups_test).astype(np.int64)
    if codes_train.ndim != 2 or codes_test.ndim != 2 or codes_train.shape[1] != codes_test.shape[1]:
        raise ParameterError("codes_test", f"shape {codes_test.shape}", f"a 2-D array with {codes_train.shape[1:]} columns like codes_train", "wrong shape")
    if len(np.unique(groups_train)) < 2 or len(np.unique(groups_test)) < 2:
        return float("nan")
    model = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=1)
    model.fit(codes_train, groups_train)
    return float(roc_auc_score(groups_test, model.predict_proba(codes_test)[:, 1]))
