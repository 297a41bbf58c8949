"""One typed settings object for paper 000's tabular studies.

A study (``fairnb.paper000.study``: the β sweep, the distillation study, the Table-1 rows, the λ sweep; the
departures page) takes one ``StudySettings`` plus what it sweeps, instead of a dozen positional values. A notebook
builds it from its resolved run configuration::

    settings = StudySettings.from_config(config)          # every value the run resolved, profile defaults included
    study = experiments.synthesis_study(settings)

``from_config`` reads each field from the run configuration (``teacher_epochs`` from ``fairdisco_epochs``,
``student_epochs`` from ``distill_epochs``, ``seeds`` from ``seed`` and ``repetitions``, ``encoding`` from
``teacher_encoding`` and the profile) and raises ``ParameterError`` naming the first key the run does not have,
unless the key is one of ``BOOK_CHOICES``: settings whose value is the book's stated choice for every profile (the
reference's β = 10⁷ and λ = 1, the paper's random forest, the favourable coding, the paper's reading of stage 3,
sampled categories, 10,000 density rows), which a template without that parameter takes as written here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

import fairnb.data
from fairnb.errors import ParameterError, one_of
from fairnb.metrics.downstream import CLASSIFIERS, POSITIVE_LABELS
from fairnb.nn.train import FIXED_BUDGET, TrainingRule
from fairnb.paper000.construction import check_construction
from fairnb.paper000.distill import check_lam
from fairnb.paper000.fairdisco import check_beta_exponent

TEACHER_ENCODINGS = ("standard", "binned")
# the run-configuration name of a field where it differs
CONFIG_NAMES = {"teacher_epochs": "fairdisco_epochs", "student_epochs": "distill_epochs", "encoding": "teacher_encoding"}
BOOK_CHOICES = {"beta_exponent": 7, "lam": 1.0, "classifier": "random_forest", "positive_label": "favourable",
                "construction": "random_group", "categorical_decoding": "sample", "quality_rows": 10_000}


def teacher_encoding(value: str | None, profile: str | None = None) -> str:
    """The teacher's input encoding: ``value``, or for ``None`` the profile's choice (``binned``, the
    reference code's, under the ``paper`` profile; ``standard`` otherwise)."""
    if value is None:
        return "binned" if profile == "paper" else "standard"
    if value not in TEACHER_ENCODINGS:
        raise ParameterError("teacher_encoding", value, ", ".join(TEACHER_ENCODINGS))
    return value


def rule_of(config: Any, values: Mapping[str, Any]) -> TrainingRule:
    """The training rule of a run configuration: a ``fairnb.runs.Config``'s ``training``; for a plain mapping, its
    ``patience``, ``validation_fraction`` and ``reuse_models`` (missing ones: a fixed budget, trained afresh)."""
    if isinstance(getattr(config, "training", None), TrainingRule):
        return config.training
    return TrainingRule(patience=values.get("patience") or 0, validation_fraction=values.get("validation_fraction") or 0.0,
                        reuse=bool(values.get("reuse_models", False)))


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(name, value, f"an int >= {low}")
    return value


@dataclass(frozen=True)
class StudySettings:
    """Everything a paper-000 tabular study needs besides what it sweeps (validated on construction).

    Attributes:
        dataset, sensitive: the data and the audited attribute.
        seeds: one seed per repetition (repetition r uses the r-th).
        teacher_epochs, student_epochs: epoch budgets of the FairDisco teacher and of each student (``None``
            for a page that trains no student, e.g. the β sweep; a study that trains one refuses it).
        max_rows: training rows (a stratified sample of the 80 % split; 0 = all).
        batch_size: rows per mini-batch of both stages.
        beta_exponent, lam: the teacher's β = 10**beta_exponent and the student's KL weight λ.
        classifier, positive_label: the downstream classifier and the headline label coding.
        construction, categorical_decoding: how a record is built from a code (``fairnb.paper000.construction``).
        encoding: the teacher's numeric inputs, ``standard`` or ``binned`` (the reference code's).
        quality_rows: at most this many rows of each set for density and coverage.
        device: torch device (``cpu``, ``cuda``).
        training: the stopping rule and model reuse of every generator the study builds
            (``fairnb.nn.train.TrainingRule``; a run's is ``config.training``).
    """

    dataset: str
    sensitive: str
    seeds: tuple[int, ...]
    teacher_epochs: int
    student_epochs: int | None
    max_rows: int
    batch_size: int
    device: str
    beta_exponent: int = BOOK_CHOICES["beta_exponent"]
    lam: float = BOOK_CHOICES["lam"]
    classifier: str = BOOK_CHOICES["classifier"]
    positive_label: str = BOOK_CHOICES["positive_label"]
    construction: str = BOOK_CHOICES["construction"]
    categorical_decoding: str = BOOK_CHOICES["categorical_decoding"]
    encoding: str = "standard"
    quality_rows: int = BOOK_CHOICES["quality_rows"]
    training: TrainingRule = FIXED_BUDGET

    def __post_init__(self) -> None:
        if self.dataset not in fairnb.data.TABULAR:
            raise ParameterError("dataset", self.dataset, one_of(fairnb.data.TABULAR))
        if self.sensitive not in fairnb.data.SENSITIVE[self.dataset]:
            raise ParameterError("sensitive", self.sensitive, f"for {self.dataset}: {one_of(fairnb.data.SENSITIVE[self.dataset])}")
        object.__setattr__(self, "seeds", tuple(self.seeds))
        if not self.seeds:
            raise ParameterError("seeds", self.seeds, "one seed or more")
        for seed in self.seeds:
            _count("seeds", seed, 0)
        for name, low in (("teacher_epochs", 1), ("student_epochs", 1), ("max_rows", 0), ("batch_size", 2), ("quality_rows", 10)):
            if not (name == "student_epochs" and self.student_epochs is None):
                _count(name, getattr(self, name), low)
        check_beta_exponent(self.beta_exponent)
        check_lam(self.lam)
        if self.classifier not in CLASSIFIERS:
            raise ParameterError("classifier", self.classifier, one_of(CLASSIFIERS))
        if self.positive_label not in POSITIVE_LABELS:
            raise ParameterError("positive_label", self.positive_label, one_of(POSITIVE_LABELS))
        check_construction(self.construction, self.categorical_decoding)
        teacher_encoding(self.encoding)
        if not isinstance(self.training, TrainingRule):
            raise ParameterError("training", self.training, "a fairnb.nn.train.TrainingRule")

    def require(self, name: str) -> Any:
        """The value of field ``name``, or ``ParameterError`` naming its run parameter when it is ``None``."""
        value = getattr(self, name)
        if value is None:
            raise ParameterError(CONFIG_NAMES.get(name, name), None, "an int >= 1 for a study that trains students")
        return value

    @property
    def other_label(self) -> str:
        """The coding reported beside the headline one."""
        return next(c for c in POSITIVE_LABELS if c != self.positive_label)

    def with_(self, **changes: Any) -> "StudySettings":
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> "StudySettings":
        """The settings of a run from its resolved configuration (``fairnb.runs.Config``) and ``overrides``.

        Raises ``ParameterError`` naming the first field the configuration lacks (``BOOK_CHOICES`` excepted).
        """
        # a fairnb.runs.Config keeps its resolved values in ``values``; a plain mapping is read as it is
        values: dict[str, Any] = dict(config) if isinstance(config, Mapping) else dict(config.values)
        out: dict[str, Any] = {}
        for field in fields(cls):
            name = field.name
            if name in overrides:
                out[name] = overrides[name]
            elif name == "seeds":
                if "seed" not in values:
                    raise ParameterError("seed", "missing", "a run configuration with seed (and repetitions)")
                out[name] = tuple(values["seed"] + r for r in range(values.get("repetitions") or 1))
            elif name == "training":
                out[name] = rule_of(config, values)
            elif name == "encoding":
                out[name] = teacher_encoding(values.get("teacher_encoding"), values.get("profile"))
            elif CONFIG_NAMES.get(name, name) in values and values[CONFIG_NAMES.get(name, name)] is not None:
                out[name] = values[CONFIG_NAMES.get(name, name)]
            elif name in BOOK_CHOICES:
                out[name] = BOOK_CHOICES[name]
            elif name == "student_epochs":  # a page without students (the β sweep) has no distill_epochs
                out[name] = None
            else:
                raise ParameterError(CONFIG_NAMES.get(name, name), "missing",
                                     "a run configuration that resolves it (a template parameter or a profile value)")
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ParameterError(sorted(unknown)[0], overrides[sorted(unknown)[0]], "a field of StudySettings", "unknown setting")
        return cls(**out)
