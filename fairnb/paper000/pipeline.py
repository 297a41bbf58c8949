"""Paper 000 end to end: ``FairLatentDistillation`` (stage 1 teacher → stage 2 student → stage 3 synthesis).

```python
model = FairLatentDistillation(quality_loss="l1", lam=1.0, teacher_epochs=30, student_epochs=30)
model.fit(train_frame, dataset="adult", sensitive="sex")  # the dataset's features, sensitive and target columns
synthetic = model.transform(test)   # one fair record per source record: x_fair = D(E'(x, s), s')
more = model.sample(1000, seed=1)   # records generated from seeded draws of the training rows
```

The model follows the generator protocol of ``fairnb.paper000.baselines.base`` (scikit-learn
conventions): ``__init__`` stores settings, ``fit(frame, *, dataset, sensitive)`` trains and
returns the model, fitted state ends in ``_``, ``sample(n, *, seed)`` returns records with the
dataset's schema. The stages can also be run one at a time: ``prepare`` → ``fit_teacher`` →
``fit_student`` (e.g. several students on one teacher).

Stage 3 builds records with ``fairnb.paper000.construction.decode_records``, the construction every
paper-000 row shares: each record is decoded as a group s' drawn independently of its source record
(with the data's group shares) and s' is its sensitive value; the label, which FairDisco does not
model, is the source record's. Categorical blocks are sampled from their softmax (``argmax`` is the
named alternative); numerics are un-scaled, clipped to the training range and rounded where integer.
The earlier construction (decode with the source's group, copy its sensitive value) is kept as the
``source_group`` ablation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import torch

import fairnb.data
from fairnb.errors import ParameterError, one_of
from fairnb.metrics import dcov as dcov_module
from fairnb.nn import losses as losses_module, train as train_module
from fairnb.paper000 import distill as distill_module, fairdisco as fairdisco_module
from fairnb.nn.device import resolve_device
from fairnb.metrics.collapse import CollapseReport, collapse_check
from fairnb.nn.store import ModelStore, array_checksum
from fairnb.nn.train import (Convergence, Training, TrainingRule, convergence, history_metadata, resolve_stopping, stopping_rule,
                             validation_split)
from fairnb.paper000.baselines.base import (Settings, check_epochs, check_float, check_n, check_seed, check_training_input,
                                            require_fitted, restore_schema, sampling_seed)
from fairnb.paper000.distill import TEACHER_TARGETS, StudentEncoder, check_lam, distill, quality_loss_fn
from fairnb.paper000.construction import check_construction, decode_records
from fairnb.paper000.fairdisco import DCOV_ESTIMATORS, FairDisco, check_beta_exponent

# the source files that define a trained teacher (part of its model-store key)
TEACHER_SOURCES = (fairdisco_module, train_module, losses_module, dcov_module)
STUDENT_SOURCES = TEACHER_SOURCES + (distill_module,)


def rule_kwargs(training: TrainingRule) -> dict[str, Any]:
    """``FairLatentDistillation``'s stopping and reuse keyword arguments from a ``fairnb.nn.train.TrainingRule``."""
    kwargs = training.generator_kwargs()
    kwargs["reuse_teacher"] = kwargs.pop("reuse")
    return kwargs


class FairLatentDistillation(Settings):
    """Fair synthetic tabular data by learning and distilling a fair representation (paper 000).

    Args:
        beta_exponent: stage-1 fairness weight β = 10**beta_exponent (0..10; reference 7).
        dcov_estimator: ``posterior`` (reference) or ``sample``.
        quality_loss, lam: stage-2 quality loss and KL weight λ.
        teacher_epochs, student_epochs: training epochs of stage 1 and stage 2.
        teacher_target: distil the teacher's ``sample`` (Algorithm 1) or its ``mean``.
        batch_size, lr: mini-batch and Adam learning rate of both stages.
        seed, device: everything is seeded from ``seed``; ``device`` is ``cpu``, ``cuda`` or ``auto``.
        patience, min_delta, validation_fraction: the stopping rule of both stages
            (``fairnb.nn.train.StoppingRule``; None: a fixed budget, nothing held out; a study
            passes its ``fairnb.nn.train.TrainingRule``). ``validation_fraction`` of the training rows
            (seeded, the same rows for both stages) is held out; with ``patience`` > 0 each stage
            trains until its validation loss has not improved by ``min_delta`` (relative) for
            ``patience`` epochs, at most ``teacher_epochs`` / ``student_epochs``, and keeps its best
            epoch. ``patience`` 0: exactly the epoch budgets (the reference's rule).
        construction, categorical_decoding: how stage 3 builds a record from a code
            (``fairnb.paper000.construction``): ``random_group`` (default, the paper's reading) or
            ``source_group`` (ablation); categories ``sample``-d from the decoder's softmax (default) or ``argmax``.
        reuse_teacher: take the teacher and the students from the trained-model store
            (``fairnb.nn.store``) when one with the same settings, training data and source code was
            trained before, else train it and store it (None or False: train afresh; a study passes its
            ``TrainingRule``'s ``reuse``). Timing studies train afresh.

    Fitted attributes: ``teacher_`` (the ``FairDisco`` teacher), ``student_`` (the
    ``StudentEncoder``), ``teacher_history_`` / ``student_history_`` (per-epoch losses),
    ``teacher_convergence_`` / ``student_convergence_`` (``fairnb.nn.train.Convergence``: epochs
    run, best epoch, why it stopped, the rule), ``teacher_reused_`` (True when the teacher came
    from the store; ``timings_["teacher_seconds"]`` is then its original training time),
    ``encoder_`` (feature encoding), ``frame_`` (the training rows), ``dataset_``,
    ``sensitive_``, ``device_``, ``quality_loss_`` / ``lam_`` (the student's values), ``timings_``
    (``teacher_seconds``, ``student_seconds``) and ``fit_seconds_`` (their sum).
    """

    name = "ours"

    def __init__(self, beta_exponent: int = 7, dcov_estimator: str = "posterior", quality_loss: str = "l1",
                 lam: float = 1.0, teacher_epochs: int = 1000, student_epochs: int = 200, teacher_target: str = "sample",
                 batch_size: int = 2048, lr: float = 1e-3, seed: int = 0, device: str = "cpu", patience: int | None = None,
                 min_delta: float | None = None, validation_fraction: float | None = None, reuse_teacher: bool | None = None,
                 construction: str = "random_group", categorical_decoding: str = "sample"):
        self.beta_exponent, self.dcov_estimator = beta_exponent, dcov_estimator
        self.quality_loss, self.lam, self.teacher_target = quality_loss, lam, teacher_target
        self.teacher_epochs, self.student_epochs = teacher_epochs, student_epochs
        self.batch_size, self.lr, self.seed, self.device = batch_size, lr, seed, device
        self.patience, self.min_delta, self.validation_fraction = patience, min_delta, validation_fraction
        self.reuse_teacher = reuse_teacher
        self.construction, self.categorical_decoding = construction, categorical_decoding

    def _check_params(self) -> None:
        """Every setting, before any compute (``ParameterError`` naming the first bad one)."""
        check_beta_exponent(self.beta_exponent)
        if self.dcov_estimator not in DCOV_ESTIMATORS:
            raise ParameterError("dcov_estimator", self.dcov_estimator, one_of(DCOV_ESTIMATORS))
        quality_loss_fn(self.quality_loss)
        check_lam(self.lam)
        if self.teacher_target not in TEACHER_TARGETS:
            raise ParameterError("teacher_target", self.teacher_target, one_of(TEACHER_TARGETS))
        for name in ("teacher_epochs", "student_epochs"):
            check_epochs(name, getattr(self, name))
        if not isinstance(self.batch_size, (int, np.integer)) or isinstance(self.batch_size, bool) or self.batch_size < 2:
            raise ParameterError("batch_size", self.batch_size, "an int >= 2")
        if check_float("lr", self.lr, 0.0) == 0.0:
            raise ParameterError("lr", self.lr, "a finite float > 0")
        check_seed(self.seed)
        check_construction(self.construction, self.categorical_decoding)
        self.rule_, self.validation_fraction_ = resolve_stopping(self.teacher_epochs, self.patience, self.min_delta,
                                                                  self.validation_fraction)
        if self.reuse_teacher is not None and not isinstance(self.reuse_teacher, (bool, np.bool_)):
            raise ParameterError("reuse_teacher", self.reuse_teacher, "True, False or None (the run's default)")
        self.reuse_ = bool(self.reuse_teacher)

    def _inputs(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in self.dataset_.features + [self.sensitive_] if c not in frame.columns]
        if missing:
            raise ParameterError("frame", f"a frame without {missing}", "a frame with the dataset's feature and sensitive columns", "columns missing")
        return self.encoder_.transform(frame), fairnb.data.group_codes(frame, self.dataset_, self.sensitive_)

    def fit(self, frame: pd.DataFrame, *, dataset: fairnb.data.TabularDataset | str, sensitive: str) -> "FairLatentDistillation":
        """Stage 1 (teacher) then stage 2 (student) on ``frame``; histories in ``teacher_history_`` / ``student_history_``."""
        x, s = self.prepare(frame, dataset=dataset, sensitive=sensitive)
        self.fit_teacher(x, s)
        self.fit_student(x, s)
        return self

    def prepare(self, frame: pd.DataFrame, *, dataset: fairnb.data.TabularDataset | str, sensitive: str) -> tuple[np.ndarray, np.ndarray]:
        """Validate everything, fit the feature encoder; return ``frame``'s features (n, width) and group codes (n,).

        The encoder learns the schema's domains from the whole dataset (every category, the range
        of every numeric), not from ``frame``, so held-out records with a rare category encode too.
        Fitting again with ``prepare`` forgets an earlier teacher and student.
        """
        self._check_params()
        dataset = check_training_input(frame, dataset, sensitive)
        for attribute in ("teacher_", "student_", "student_history_", "student_convergence_", "teacher_reused_", "teacher_key_",
                          "student_reused_", "quality_loss_", "lam_", "fit_seconds_"):
            self.__dict__.pop(attribute, None)
        self.device_ = resolve_device(self.device)
        self.dataset_, self.sensitive_, self.timings_ = dataset, sensitive, {}
        self.encoder_ = fairnb.data.encoder_for(dataset, scaling="standard").fit(dataset.frame)
        self.frame_ = frame.reset_index(drop=True)
        return self._inputs(self.frame_)

    def fit_teacher(self, x: np.ndarray, s: np.ndarray) -> FairDisco:
        """Stage 1 only: train the FairDisco teacher on encoded features and group codes (after ``prepare``).

        With ``reuse_teacher`` the teacher comes from the trained-model store when its key (every
        setting below, the exact training matrix and group codes, the source of the teacher and of
        its training code) was trained before; otherwise it is trained here and stored.
        """
        require_fitted(self, "encoder_")
        x = np.asarray(x, dtype=np.float32)
        s = np.asarray(s).astype(np.int64)
        started = time.perf_counter()
        teacher = self._new_teacher(x.shape[1])
        self.teacher_key_ = None
        if self.reuse_:
            store, settings, checksum = ModelStore(), self._teacher_settings(x.shape[1]), array_checksum(x, s)
            state, metadata, hit = store.get_or_train(settings, checksum, TEACHER_SOURCES,
                                                      lambda: self._train_teacher(teacher, x, s), budget="epochs")
            if hit:
                teacher.encoder.load_state_dict(state["encoder"])
                teacher.decoder.load_state_dict(state["decoder"])
                teacher.history = pd.DataFrame(metadata["history"], columns=metadata["history_columns"])
                # a model found under another budget: the rule stated is the one asked for
                teacher.history.attrs["convergence"] = {**metadata["convergence"], "rule": teacher.rule.describe("validation loss")
                                                        if teacher.rule.early else metadata["convergence"]["rule"]}
                teacher.convergence = convergence(teacher.history)
            seconds, self.teacher_reused_ = float(metadata["seconds"]), bool(hit)
            self.teacher_key_ = store.key(settings, checksum, TEACHER_SOURCES)
        else:
            self._train_teacher(teacher, x, s)
            seconds, self.teacher_reused_ = time.perf_counter() - started, False
        teacher.encoder.eval()
        teacher.decoder.eval()
        self.teacher_ = teacher
        self.timings_["teacher_seconds"] = seconds
        self.timings_["teacher_load_seconds"] = time.perf_counter() - started
        return self.teacher_

    def _new_teacher(self, width: int) -> FairDisco:
        return FairDisco(width, self.encoder_.blocks, s_dim=2, beta_exponent=self.beta_exponent,
                         dcov_estimator=self.dcov_estimator, epochs=self.teacher_epochs, batch_size=self.batch_size,
                         lr=self.lr, seed=self.seed, device=str(self.device_), patience=self.rule_.patience,
                         min_delta=self.rule_.min_delta, validation_fraction=self.validation_fraction_, progress=None)

    def _teacher_settings(self, width: int) -> dict:
        """The store key's settings: everything that changes the trained teacher."""
        return {"model": "FairDisco", "x_dim": int(width), "s_dim": 2, "h_dim": 64, "z_dim": 8,
                "beta_exponent": int(self.beta_exponent), "dcov_estimator": self.dcov_estimator,
                "epochs": int(self.teacher_epochs), "batch_size": int(self.batch_size), "lr": float(self.lr),
                "seed": int(self.seed), "patience": self.rule_.patience, "min_delta": self.rule_.min_delta,
                "validation_fraction": self.validation_fraction_, "device": self.device_.type}

    @staticmethod
    def _train_teacher(teacher: FairDisco, x: np.ndarray, s: np.ndarray) -> tuple[dict, dict]:
        started = time.perf_counter()
        teacher.fit(x, s)
        seconds = time.perf_counter() - started
        state = {"encoder": teacher.encoder.state_dict(), "decoder": teacher.decoder.state_dict()}
        return state, {**history_metadata(teacher.history), "seconds": seconds}

    def fit_student(self, x: np.ndarray, s: np.ndarray, quality_loss: str | None = None, lam: float | None = None) -> StudentEncoder:
        """(Re)train only the student, e.g. to compare quality losses on one teacher.

        ``quality_loss`` and ``lam`` override the settings for this student only; the values used
        are kept in ``quality_loss_`` and ``lam_``.
        """
        require_fitted(self, "teacher_")
        quality_loss = quality_loss or self.quality_loss
        quality_loss_fn(quality_loss)
        lam = check_lam(lam if lam is not None else self.lam)
        torch.manual_seed(self.seed + 1)  # the student's initialisation
        student = StudentEncoder(x.shape[1], 2, 32, self.teacher_.z_dim)
        x, s = np.asarray(x, dtype=np.float32), np.asarray(s).astype(np.int64)

        def train() -> tuple[dict, dict]:
            fit_rows, held_rows = validation_split(len(x), self.validation_fraction_, self.seed)  # the teacher's split
            trained = time.perf_counter()
            training = Training(epochs=self.student_epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed + 1,
                                device=str(self.device_), patience=self.rule_.patience, min_delta=self.rule_.min_delta)
            history = distill(self.teacher_.encoder, student, x[fit_rows], s[fit_rows], training, quality_loss=quality_loss,
                              lam=lam, teacher_target=self.teacher_target,
                              validation=(x[held_rows], s[held_rows]) if len(held_rows) else None)
            return {"student": student.state_dict()}, {**history_metadata(history), "seconds": time.perf_counter() - trained}

        if self.reuse_ and getattr(self, "teacher_key_", None):
            settings = {"model": "StudentEncoder", "teacher": self.teacher_key_, "h_dim": 32, "quality_loss": quality_loss,
                        "lam": float(lam), "teacher_target": self.teacher_target, "epochs": int(self.student_epochs),
                        "batch_size": int(self.batch_size), "lr": float(self.lr), "seed": int(self.seed),
                        "patience": self.rule_.patience, "min_delta": self.rule_.min_delta,
                        "validation_fraction": self.validation_fraction_, "device": self.device_.type}
            state, metadata, hit = ModelStore().get_or_train(settings, array_checksum(x, s), STUDENT_SOURCES, train,
                                                             budget="epochs")
            if hit:
                student.load_state_dict(state["student"])
            history = pd.DataFrame(metadata["history"], columns=metadata["history_columns"])
            rule = stopping_rule(self.student_epochs, self.rule_.patience, self.rule_.min_delta)
            history.attrs["convergence"] = {**metadata["convergence"], "rule": rule.describe("validation loss")
                                            if rule.early else metadata["convergence"]["rule"]}
            seconds, self.student_reused_ = float(metadata["seconds"]), bool(hit)
        else:
            _, metadata = train()
            history = pd.DataFrame(metadata["history"], columns=metadata["history_columns"])
            history.attrs["convergence"] = metadata["convergence"]
            seconds, self.student_reused_ = float(metadata["seconds"]), False
        student.eval()
        self.student_history_ = history
        self.student_convergence_ = convergence(self.student_history_)
        self.student_, self.quality_loss_, self.lam_ = student, quality_loss, lam
        self.timings_["student_seconds"] = seconds
        self.fit_seconds_ = self.timings_.get("teacher_seconds", 0.0) + self.timings_["student_seconds"]
        return self.student_

    @property
    def teacher_history_(self) -> pd.DataFrame:
        """Per-epoch stage-1 losses (the teacher's history)."""
        require_fitted(self, "teacher_")
        return self.teacher_.history

    @property
    def teacher_convergence_(self) -> Convergence | None:
        """How the teacher's training ended (``fairnb.nn.train.Convergence``)."""
        require_fitted(self, "teacher_")
        return self.teacher_.convergence

    @torch.no_grad()
    def latents(self, frame: pd.DataFrame, sample: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Teacher codes z and student codes z' of ``frame``'s records, each (n, z_dim)."""
        require_fitted(self, "student_")
        x, s = self._inputs(frame)
        xt = torch.as_tensor(x).to(self.device_)
        st = torch.as_tensor(s).to(self.device_)
        t_mean, t_logvar = self.teacher_.encode(xt, st)
        self.student_.eval()
        mean, logvar = self.student_(xt, st)
        if sample:
            t_mean, mean = t_mean + torch.randn_like(t_mean) * (0.5 * t_logvar).exp(), mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return t_mean.cpu().numpy(), mean.cpu().numpy()

    @torch.no_grad()
    def transform(self, frame: pd.DataFrame, use: str = "student", seed: int | None = None, construction: str | None = None,
                  categorical_decoding: str | None = None) -> pd.DataFrame:
        """Fair synthetic records, one per row of ``frame``: x_fair = D(z, s') with z ~ E'(x, s).

        Args:
            frame: source records (features, sensitive attribute and target).
            use: ``student`` (paper 000) or ``teacher`` (FairDisco's own encoder, for comparison).
            seed: seeds the latent sampling, the decoded group and the categorical sampling
                (default: the model's seed).
            construction, categorical_decoding: override the model's settings for this call
                (``fairnb.paper000.construction``; None: the model's).

        Returns:
            DataFrame with ``frame``'s columns and dtypes: features decoded, the sensitive column the
            decoded group's value, the target copied.
        """
        if use not in ("student", "teacher"):
            raise ParameterError("use", use, one_of(("student", "teacher")))
        require_fitted(self, "student_" if use == "student" else "teacher_")
        construction, categorical_decoding = check_construction(construction or self.construction,
                                                                categorical_decoding or self.categorical_decoding)
        seed = check_seed(seed, optional=True)
        seed = self.seed if seed is None else seed
        x, s = self._inputs(frame)
        torch.manual_seed(seed)
        xt, st = torch.as_tensor(x).to(self.device_), torch.as_tensor(s).to(self.device_)
        if use == "student":
            self.student_.eval()
            z = torch.cat([self._sample_chunk(xt[i:i + 8192], st[i:i + 8192]) for i in range(0, len(xt), 8192)])
        else:
            z = self.teacher_.sample_latent(xt, st)
        return decode_records(self.teacher_, self.encoder_, z, frame, self.frame_, dataset=self.dataset_,
                              sensitive=self.sensitive_, construction=construction,
                              categorical_decoding=categorical_decoding, seed=seed)

    def _sample_chunk(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.student_(x, s)
        return mean + torch.randn_like(mean) * (0.5 * logvar).exp()

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic records from seeded draws (with replacement) of the training records,
        with the dataset's schema (``seed=None`` uses ``self.seed``)."""
        n = check_n(n)
        seed = check_seed(seed, optional=True)
        require_fitted(self, "student_")
        rng = np.random.default_rng(sampling_seed(self, seed, 0))
        rows = rng.integers(0, len(self.frame_), size=n)
        return restore_schema(self.transform(self.frame_.iloc[rows], seed=seed), self.dataset_)

    def collapse_report(self, frame: pd.DataFrame, use: str = "student", seed: int | None = None) -> CollapseReport:
        """``fairnb.metrics.collapse.collapse_check`` of ``transform(frame, use=...)`` against ``frame``:
        has the teacher's or the student's output collapsed (or diverged)?"""
        records = self.transform(frame, use=use, seed=seed)
        return collapse_check(frame, records, self.dataset_)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of the teacher encoder E, the student E' and the decoder D."""
        require_fitted(self, "student_")
        counts = self.teacher_.parameter_count()
        return {"teacher_encoder": counts["encoder"], "student_encoder": sum(p.numel() for p in self.student_.parameters()),
                "decoder": counts["decoder"]}


def stored_teacher(frame: pd.DataFrame, *, dataset: fairnb.data.TabularDataset | str, sensitive: str,
                   training: TrainingRule | None = None, **settings) -> FairLatentDistillation:
    """A ``FairLatentDistillation`` with only its teacher fitted, as the studies fit theirs: with the same
    ``settings``, ``training`` rule (a run's ``config.training``) and rows it is the teacher they trained (from the
    trained-model store), so a page can read its learning curve, rule and output without training it again."""
    model = FairLatentDistillation(**{**(rule_kwargs(training) if training is not None else {}), **settings})
    model.fit_teacher(*model.prepare(frame, dataset=dataset, sensitive=sensitive))
    return model
