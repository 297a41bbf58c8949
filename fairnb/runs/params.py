"""Every notebook parameter of the book, defined once: type, allowed values, meaning.

One name per concept: a template's parameters cell may only use names defined here, and
``validate`` checks a value against its definition before any compute starts. ``None`` is
allowed for parameters marked ``profile_default``: the run's profile then supplies the value
(see ``fairnb.runs.profiles``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from fairnb.errors import ParameterError, one_of

DATASETS = ("adult", "compas", "german", "meps", "celeba", "colour_mnist")
PROFILE_NAMES = ("smoke", "default", "paper")


@dataclass(frozen=True)
class Param:
    """Definition of one parameter.

    Attributes:
        kind: Python type of the value (``int`` also accepts ``bool``-free ints; ``float`` accepts ints).
        help: one-line meaning, with units.
        choices: allowed values, if the parameter is an enumeration.
        low, high: inclusive bounds for numbers.
        profile_default: ``None`` means "take the value from the profile".
        optional: ``None`` is a meaningful value of its own (e.g. "no path given").
        item: for ``kind=list``, the definition every element must satisfy.
    """

    kind: type
    help: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    profile_default: bool = False
    optional: bool = False
    item: "Param | None" = None

    def allowed(self) -> str:
        if self.item is not None:
            text = "a non-empty list, each element " + self.item.allowed() + " (JSON [0, 7] or comma-separated 0,7)"
        elif self.choices is not None:
            text = one_of(self.choices)
        elif self.low is not None or self.high is not None:
            low = "-inf" if self.low is None else f"{self.low:g}"
            high = "inf" if self.high is None else f"{self.high:g}"
            text = f"{self.kind.__name__} in [{low}, {high}]"
        else:
            text = f"a {self.kind.__name__}"
        if self.profile_default:
            text += " or None (the profile's value)"
        elif self.optional:
            text += " or None"
        return text


PARAMS: dict[str, Param] = {
    # --- common to every template
    "dataset": Param(str, "dataset name", choices=DATASETS),
    "sensitive": Param(str, "sensitive attribute of the dataset (see the Datasets part)"),
    "profile": Param(str, "run size: smoke (seconds), default (laptop CPU), paper (the papers' protocol)", choices=PROFILE_NAMES),
    "seed": Param(int, "first random seed; repetition r uses seed + r", low=0, high=2**31 - 1),
    "device": Param(str, "torch device: auto picks CUDA when present", choices=("auto", "cpu", "cuda")),
    "repetitions": Param(int, "independent repetitions (seeds) for mean ± std", low=1, high=100, profile_default=True),
    "max_rows": Param(int, "the cap on training rows: use at most this many (a stratified sample of the training split); 0 = all", low=0, profile_default=True),
    "data_path": Param(str, "folder or file of user-supplied data (MEPS, CelebA); None = $FAIRNB_DATA", optional=True),
    "correlation": Param(float, "Colour-MNIST: probability that a digit has its half's colour", low=0.0, high=1.0),
    # --- paper 000 (fair latent distillation)
    "beta_exponent": Param(int, "stage-1 fairness weight beta = 10**beta_exponent (distance covariance penalty), 0..10", low=0, high=10),
    "quality_loss": Param(str, "stage-2 distillation quality loss between teacher and student codes", choices=("l1", "mse", "huber", "mean_difference")),
    "lam": Param(float, "stage-2 weight of the KL utility loss, > 0 (the paper uses 1..10)", low=1e-6, high=100.0),
    "dcov_estimator": Param(str, "stage-1 dCov² estimator: posterior (reference code, Gaussian posteriors) or sample (exact V-statistic of z)", choices=("posterior", "sample")),
    "fairdisco_epochs": Param(int, "paper 000 stage 1: epochs of the tabular FairDisco teacher (reference: 1000)", low=1, high=5000, profile_default=True),
    "distill_epochs": Param(int, "paper 000 stage 2: epochs of the distilled student encoder (about 200 in the paper)", low=1, high=5000, profile_default=True),
    "batch_size": Param(int, "paper 000 tabular stages: mini-batch size in rows (reference: 2048)", low=2, high=65536, profile_default=True),
    "beta_exponents": Param(list, "paper 000: list of beta exponents swept in stage 1 (each 0..10)", profile_default=True,
                            item=Param(int, "a beta exponent", low=0, high=10)),
    "lams": Param(list, "paper 000: list of KL weights lambda swept in stage 2 (each > 0)", profile_default=True,
                  item=Param(float, "a KL weight", low=1e-6, high=100.0)),
    "classifier": Param(str, "downstream classifier: random_forest (paper) or xgboost (reference code)", choices=("random_forest", "xgboost")),
    "construction": Param(str, "paper 000: how a fair record is built from its code: random_group (decoded as a group drawn with the data's shares, written into the sensitive column; the paper's reading) or source_group (the source's group decoded and copied; ablation)", choices=("random_group", "source_group")),
    "categorical_decoding": Param(str, "paper 000: a decoded categorical column: sample (from the decoder's softmax) or argmax", choices=("sample", "argmax")),
    "departures": Param(list, "paper 000 departures page: the settings measured one at a time against the book's choice (training_rows trains on every row: slow)",
                        item=Param(str, "a departure", choices=("construction", "categorical_decoding", "label_coding", "teacher_encoding",
                                                                 "feature_set", "classifier", "protocol", "training_rows"))),
    "teacher_encoding": Param(str, "paper 000: FairDisco's input encoding: standard (numeric columns standardised) or binned (the reference code's bins); None: binned under the paper profile, standard otherwise", choices=("standard", "binned"), optional=True),
    "positive_label": Param(str, "which outcome is class 1 for recall/F1/DPR: favourable (e.g. Adult >50K) or unfavourable (the reference code's Adult coding, <=50K)", choices=("favourable", "unfavourable")),
    # --- paper 000 comparison with the baselines (0 = the publication's training length for the dataset)
    "tabfairgan_epochs": Param(int, "paper 000 baseline TabFairGAN: epochs (publication: Adult 200, COMPAS 70; last 15% with the fairness penalty); 0 = publication", low=0, high=5000, profile_default=True),
    "decaf_epochs": Param(int, "paper 000 baseline Decaf: epochs over the training rows (synthcity: 1000); 0 = publication", low=0, high=5000, profile_default=True),
    "fldgm_epochs": Param(int, "paper 000 baseline FLDGMs: epochs of the latent diffusion model (authors: 5000); 0 = publication", low=0, high=20000, profile_default=True),
    # --- paper 000: the stopping rule of every generator (teacher, students, Decaf, FLDGMs' diffusion)
    "patience": Param(int, "paper 000 generators: epochs without an improvement (> 0.1 %, relative) of the validation criterion before training stops, the best epoch kept; the epoch parameters are then budgets; 0 = train the whole epoch budget", low=0, high=100_000, profile_default=True),
    "validation_fraction": Param(float, "paper 000 generators: share of the training rows held out (seeded, the same rows for every generator) for the stopping rule's validation criterion; 0 = none", low=0.0, high=0.5, profile_default=True),
    "reuse_models": Param(bool, "train each model once: take a stored model with the same settings, training rows and code from the trained-model store (results/models) instead of training it again; False = train everything afresh (timing pages)", profile_default=True),
    "budget_multipliers": Param(list, "paper 000 budget check: multiples of the profile's training budget (epoch budgets and patience) at which the headline comparison is repeated", profile_default=True,
                                item=Param(float, "a budget multiple", low=0.1, high=64.0)),
    "tabfairgdt_lamdas": Param(list, "paper 000 Pareto page: TabFairGDT's fairness-utility trade-offs swept (each in [0, 1]; 0 = no leaf relabelling, 1 = the most towards demographic parity)", profile_default=True,
                               item=Param(float, "a TabFairGDT lamda", low=0.0, high=1.0)),
    "timing_epochs": Param(int, "paper 000 runtime: epochs each generator stage trains while timed (per-epoch time is projected to the publications' schedules)", low=1, high=5000, profile_default=True),
    # --- images (paper 000 on Colour-MNIST and CelebA)
    "image_size": Param(int, "side of the square images fed to the networks, in pixels (power of two)", choices=(16, 32, 64, 128), profile_default=True),
    "max_images": Param(int, "training images used (seeded sample stratified by target x sensitive; the test set is capped alike); 0 = all", low=0, profile_default=True),
    "image_teacher_epochs": Param(int, "epochs of the convolutional FairDisco teacher (stage 1)", low=1, high=5000, profile_default=True),
    "image_student_epochs": Param(int, "epochs of the convolutional distilled student (stage 2)", low=1, high=5000, profile_default=True),
    "image_classifier_epochs": Param(int, "epochs of the evaluation CNNs (trained on generated / real images)", low=1, high=500, profile_default=True),
    "image_batch_size": Param(int, "mini-batch size of the image networks, in images", low=2, high=65536, profile_default=True),
    # --- paper 002 (fair classifier from generated fair data)
    "translator_epochs": Param(int, "paper 002: epochs of the VAE-GAN translator (the authors ran 2000)", low=1, high=5000, profile_default=True),
    "translator_steps": Param(int, "paper 002: translator training length in batches (critic updates), the same for every dataset; 0 = translator_epochs epochs", low=0, high=10_000_000, profile_default=True),
    "translator_hidden": Param(int, "paper 002: width of the translator's dense layers", low=4, high=4096, profile_default=True),
    "translator_lr": Param(float, "paper 002: Adam learning rate of the translator (authors: 1e-4)", low=1e-6, high=1.0, profile_default=True),
    "translator_patience": Param(int, "paper 002: validation checks without an improvement (> 0.1 %, relative) of the translator's validation criterion before it stops, the best check kept; translator_steps is then a budget; 0 = train the whole budget", low=0, high=100_000, profile_default=True),
    "translator_check_every": Param(int, "paper 002: translator batches between two validation checks (and two rows of its learning curve); 0 = one per epoch", low=0, high=1_000_000, profile_default=True),
    "lambda_rec": Param(float, "paper 002: weight of the cycle reconstruction loss L_rec (authors: 10)", low=0.0, high=1000.0),
    "lambda_kld": Param(float, "paper 002: weight of the prior (KL) loss L_prior (authors: 0.1)", low=0.0, high=1000.0),
    "lambda_cls": Param(float, "paper 002: weight of the domain classification loss L_trns (authors: 1)", low=0.0, high=1000.0),
    "lambda_gp": Param(float, "paper 002: weight of the WGAN gradient penalty (authors: 10)", low=0.0, high=1000.0),
    "n_critic": Param(int, "paper 002: critic updates per translator update (authors: 6)", low=1, high=100),
    "classifier_epochs": Param(int, "paper 002: epochs of each classifier phase (pre-training, fine-tuning); best validation epoch kept", low=1, high=5000, profile_default=True),
    "classifier_dropout": Param(float, "paper 002: dropout probability of the classifier C (paper: 0.7)", low=0.0, high=0.95),
    "real_ratio": Param(float, "paper 002: share of real rows in each fine-tuning batch (paper: 0.5)", low=0.0, high=1.0),
    "finetune_balance": Param(str, "paper 002: real rows of fine-tuning: upsample (every (group, label) cell drawn up to the largest: the paper's balanced real data), downsample (every cell cut to the smallest), none (all training rows as they are)", choices=("upsample", "downsample", "none")),
    "adversarial_epochs": Param(int, "paper 002: epochs of adversarial debiasing (AIF360 demo: 50 on the full data)", low=1, high=5000, profile_default=True),
    "laftr_epochs": Param(int, "paper 002: epochs of LAFTR (its authors: 1000)", low=1, high=5000, profile_default=True),
    # --- the runner (not a template parameter: ``fairnb run --timeout``, or the profile's value)
    "run_timeout": Param(int, "wall-clock limit of one run in seconds (kernel start to last cell); 0 = no limit",
                         low=0, high=7 * 24 * 3600, profile_default=True),
}


def validate(name: str, value: Any) -> Any:
    """Return ``value`` converted to the parameter's type, or raise ``ParameterError``."""
    if name not in PARAMS:
        raise ParameterError(name, value, "a known parameter: " + ", ".join(sorted(PARAMS)), "unknown parameter")
    spec = PARAMS[name]
    if value is None:
        if spec.profile_default or spec.optional:
            return None
        raise ParameterError(name, value, spec.allowed(), "must not be None")
    return _check(name, spec, value, value)


def _check(name: str, spec: Param, value: Any, whole: Any, element: str = "") -> Any:
    """``value`` converted to ``spec``'s type; errors name the parameter, the whole value given and, for a list
    element, which element was wrong."""
    allowed = spec.allowed() if not element else PARAMS[name].allowed()
    if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if spec.kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if spec.kind is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, spec.kind) or (spec.kind in (int, float) and isinstance(value, bool)):
        raise ParameterError(name, whole, allowed, f"{element}wrong type {type(value).__name__}")
    if spec.kind is float and math.isnan(value):
        raise ParameterError(name, whole, allowed, f"{element}not a number (NaN)")
    if spec.choices is not None and value not in spec.choices:
        raise ParameterError(name, whole, allowed, f"{element}not allowed")
    if spec.low is not None and value < spec.low or spec.high is not None and value > spec.high:
        raise ParameterError(name, whole, allowed, f"{element}out of range")
    if spec.kind is list and spec.item is not None:
        if not value:
            raise ParameterError(name, whole, allowed, "empty list")
        value = [_check(name, spec.item, item, whole, f"element {i} ({item!r}): ") for i, item in enumerate(value)]
    return value


def _scalar(spec: Param, text: str) -> Any:
    """``text`` as ``spec.kind`` (``ValueError``/``KeyError`` when it is not one)."""
    if spec.kind is bool:
        return {"true": True, "false": False}[text.strip().lower()]
    return spec.kind(text.strip())


def parse_cli_value(name: str, text: str) -> Any:
    """Convert a command-line string to the parameter's type (``None`` → None), then validate it.

    Lists are written as JSON (``'[0, 7]'``) or comma-separated (``0,7``); each element is converted
    to the element type and checked.
    """
    if name not in PARAMS:
        return validate(name, text)
    spec = PARAMS[name]
    if text.strip() == "None":
        return validate(name, None)
    if spec.kind is list:
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError:
                raise ParameterError(name, text, spec.allowed(), "not a JSON list") from None
        else:
            value = [part for part in (p.strip() for p in stripped.split(",")) if part]
            if spec.item is not None:
                converted = []
                for i, part in enumerate(value):
                    try:
                        converted.append(_scalar(spec.item, part))
                    except (ValueError, KeyError):
                        raise ParameterError(name, text, spec.allowed(),
                                             f"element {i} ({part!r}): not a {spec.item.kind.__name__}") from None
                value = converted
        return validate(name, value)
    try:
        value: Any = _scalar(spec, text)
    except (ValueError, KeyError):
        raise ParameterError(name, text, spec.allowed(), f"not a {spec.kind.__name__}") from None
    return validate(name, value)
