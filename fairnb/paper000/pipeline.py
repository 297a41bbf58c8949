"""Paper 000 end to end: ``FairLatentDistillation`` (stage 1 teacher → stage 2 student → stage 3 synthesis).

```python
model = FairLatentDistillation("adult", "sex", quality_loss="l1", lam=1.0, teacher_epochs=30, student_epochs=30)
model.fit(train_frame)              # a frame with the dataset's features, sensitive and target columns
synthetic = model.transform(test)   # one fair record per source record: x_fair = D(E'(x, s), s)
more = model.sample(1000)           # records generated from seeded draws of the training rows
```

Stage 3 decodes with ``TabularEncoder.inverse_transform``: each categorical takes its block's
arg-max category (always a value seen in training), numerics are un-scaled, clipped to the
training range and rounded where integer. FairDisco does not model the target or the sensitive
attribute, so they are copied from the source record.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

import fairnb.data
from fairnb.errors import ParameterError, one_of
from fairnb.paper000.distill import StudentEncoder, check_lam, distill, quality_loss_fn
from fairnb.paper000.fairdisco import FairDisco, check_beta_exponent


DECODE_SENSITIVE = ("source", "random")


class FairLatentDistillation:
    """Fair synthetic tabular data by learning and distilling a fair representation (paper 000).

    Args:
        dataset, sensitive: a tabular dataset name and one of its sensitive attributes.
        beta_exponent: stage-1 fairness weight β = 10**beta_exponent (0..10; reference 7).
        dcov_estimator: ``posterior`` (reference) or ``sample``.
        quality_loss, lam: stage-2 quality loss and KL weight λ.
        teacher_epochs, student_epochs: training epochs of stage 1 and stage 2.
        teacher_target: distil the teacher's ``sample`` (Algorithm 1) or its ``mean``.
        seed, device: everything is seeded from ``seed``; ``device`` is cpu or cuda.
    """

    def __init__(self, dataset: str, sensitive: str, beta_exponent: int = 7, dcov_estimator: str = "posterior",
                 quality_loss: str = "l1", lam: float = 1.0, teacher_epochs: int = 1000, student_epochs: int = 200,
                 teacher_target: str = "sample", batch_size: int = 2048, lr: float = 1e-3, seed: int = 0,
                 device: str = "cpu"):
        if dataset not in fairnb.data.TABULAR:
            raise ParameterError("dataset", dataset, one_of(fairnb.data.TABULAR))
        if sensitive not in fairnb.data.SENSITIVE[dataset]:
            raise ParameterError("sensitive", sensitive, f"for dataset {dataset}: " + one_of(fairnb.data.SENSITIVE[dataset]))
        check_beta_exponent(beta_exponent)
        quality_loss_fn(quality_loss)
        check_lam(lam)
        for name, value in (("teacher_epochs", teacher_epochs), ("student_epochs", student_epochs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(name, value, "a positive int")
        self.dataset_name, self.sensitive = dataset, sensitive
        self.beta_exponent, self.dcov_estimator = beta_exponent, dcov_estimator
        self.quality_loss, self.lam, self.teacher_target = quality_loss, float(lam), teacher_target
        self.teacher_epochs, self.student_epochs = teacher_epochs, student_epochs
        self.batch_size, self.lr, self.seed, self.device = batch_size, lr, seed, device
        self.teacher: FairDisco | None = None
        self.student: StudentEncoder | None = None
        self.timings: dict[str, float] = {}

    @property
    def dataset(self) -> fairnb.data.TabularDataset:
        return fairnb.data.load(self.dataset_name)

    def _inputs(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in self.dataset.features + [self.sensitive] if c not in frame.columns]
        if missing:
            raise ParameterError("frame", f"a frame without {missing}", "a frame with the dataset's feature and sensitive columns", "columns missing")
        return self.encoder.transform(frame), fairnb.data.group_codes(frame, self.dataset, self.sensitive)

    def fit(self, frame: pd.DataFrame) -> "FairLatentDistillation":
        """Stage 1 (teacher) then stage 2 (student) on ``frame``; histories in ``teacher_history`` / ``student_history``."""
        x, s = self.prepare(frame)
        self.fit_teacher(x, s)
        self.fit_student(x, s)
        return self

    def prepare(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fit the feature encoder; return ``frame``'s features (n, width) and group codes (n,).

        The encoder learns the schema's domains from the whole dataset (every category, the range
        of every numeric), not from ``frame``, so held-out records with a rare category encode too.
        """
        self.encoder = fairnb.data.encoder_for(self.dataset, scaling="standard").fit(self.dataset.frame)
        self.frame = frame.reset_index(drop=True)
        return self._inputs(self.frame)

    def fit_teacher(self, x: np.ndarray, s: np.ndarray) -> FairDisco:
        """Stage 1 only: train the FairDisco teacher on encoded features and group codes."""
        started = time.perf_counter()
        self.teacher = FairDisco(x.shape[1], self.encoder.blocks, s_dim=2, beta_exponent=self.beta_exponent,
                                 dcov_estimator=self.dcov_estimator, epochs=self.teacher_epochs, batch_size=self.batch_size,
                                 lr=self.lr, seed=self.seed, device=self.device).fit(x, s)
        self.timings["teacher_seconds"] = time.perf_counter() - started
        return self.teacher

    def fit_student(self, x: np.ndarray, s: np.ndarray, quality_loss: str | None = None, lam: float | None = None) -> StudentEncoder:
        """(Re)train only the student, e.g. to compare quality losses on one teacher."""
        if self.teacher is None:
            raise RuntimeError("fit the teacher first (fit(frame))")
        self.quality_loss = quality_loss or self.quality_loss
        self.lam = check_lam(lam) if lam is not None else self.lam
        started = time.perf_counter()
        torch.manual_seed(self.seed + 1)  # the student's initialisation
        self.student = StudentEncoder(x.shape[1], 2, 32, self.teacher.z_dim)
        self.student_history = distill(self.teacher.encoder, self.student, x, s, self.quality_loss, self.lam,
                                       self.teacher_target, self.student_epochs, self.batch_size, self.lr,
                                       self.seed + 1, self.device)
        self.timings["student_seconds"] = time.perf_counter() - started
        return self.student

    @property
    def teacher_history(self) -> pd.DataFrame:
        return self.teacher.history

    def _check_fitted(self) -> None:
        if self.student is None:
            raise RuntimeError("FairLatentDistillation is not fitted: call fit(frame) first")

    @torch.no_grad()
    def latents(self, frame: pd.DataFrame, sample: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Teacher codes z and student codes z' of ``frame``'s records, each (n, z_dim)."""
        self._check_fitted()
        x, s = self._inputs(frame)
        xt = torch.as_tensor(x).to(self.device)
        st = torch.as_tensor(s).to(self.device)
        t_mean, t_logvar = self.teacher.encode(xt, st)
        self.student.eval()
        mean, logvar = self.student(xt, st)
        if sample:
            t_mean, mean = t_mean + torch.randn_like(t_mean) * (0.5 * t_logvar).exp(), mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return t_mean.cpu().numpy(), mean.cpu().numpy()

    @torch.no_grad()
    def transform(self, frame: pd.DataFrame, use: str = "student", seed: int | None = None,
                  decode_sensitive: str = "source") -> pd.DataFrame:
        """Fair synthetic records, one per row of ``frame``: x_fair = D(z, s) with z ~ E'(x, s).

        Args:
            frame: source records (features, sensitive attribute and target).
            use: ``student`` (paper 000) or ``teacher`` (plain FairDisco reconstruction, for comparison).
            seed: seeds the latent sampling (default: the model's seed).
            decode_sensitive: the s given to the decoder. ``source``: the record's own group (the
                decoder needs an s and the paper does not say which); ``random``: a group drawn
                from the training frame's group shares, independently of the record, so the
                decoded features depend on the record's group only through z. The output's
                sensitive column is the source record's in both cases.

        Returns:
            DataFrame with ``frame``'s columns, in order; features decoded, sensitive and target copied.
        """
        if use not in ("student", "teacher"):
            raise ParameterError("use", use, one_of(("student", "teacher")))
        if use == "student":
            self._check_fitted()
        elif self.teacher is None:
            raise RuntimeError("the teacher is not fitted: call fit(frame) or fit_teacher first")
        if decode_sensitive not in DECODE_SENSITIVE:
            raise ParameterError("decode_sensitive", decode_sensitive, one_of(DECODE_SENSITIVE))
        x, s = self._inputs(frame)
        torch.manual_seed(self.seed if seed is None else seed)
        xt, st = torch.as_tensor(x).to(self.device), torch.as_tensor(s).to(self.device)
        s_decode = st
        if decode_sensitive == "random":
            share = float(fairnb.data.group_codes(self.frame, self.dataset, self.sensitive).mean())
            s_decode = torch.bernoulli(torch.full((len(st),), share)).long().to(self.device)
        if use == "student":
            self.student.eval()
            z = torch.cat([self._sample_chunk(xt[i:i + 8192], st[i:i + 8192]) for i in range(0, len(xt), 8192)])
        else:
            z = self.teacher.sample_latent(xt, st)
        decoded = self.encoder.inverse_transform(self.teacher.decode(z, s_decode))
        out = frame.reset_index(drop=True).copy()
        for column in decoded.columns:
            out[column] = decoded[column].to_numpy()
        return out.astype(frame.dtypes.to_dict())

    def _sample_chunk(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.student(x, s)
        return mean + torch.randn_like(mean) * (0.5 * logvar).exp()

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records from seeded draws (with replacement) of the training records."""
        self._check_fitted()
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ParameterError("n", n, "a positive int")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        rows = rng.integers(0, len(self.frame), size=n)
        return self.transform(self.frame.iloc[rows], seed=seed)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of the teacher encoder E, the student E' and the decoder D."""
        self._check_fitted()
        counts = self.teacher.parameter_count()
        return {"teacher_encoder": counts["encoder"], "student_encoder": sum(p.numel() for p in self.student.parameters()),
                "decoder": counts["decoder"]}
