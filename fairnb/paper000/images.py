"""Paper 000 on images, end to end, for ``notebooks/paper000/07_images.md``.

``load_images`` prepares train / test arrays (or explains why the data is absent); ``run`` trains
the convolutional teacher and student (``fairnb.paper000.conv``) once per seed, generates one fair
image per training image, and scores it with ``fairnb.metrics.image_scores``.

Sizes (documented in the notebook's run configuration):

- ``max_images`` training images, a seeded sample stratified by (target, sensitive); the real test
  set is capped at the same number. 0 = every image.
- CelebA: the official partition (0/1 → train, 2 → test). When only part of CelebA is read
  (``max_images`` > 0 reads the first images of the official order, which are all training
  images) a seeded, stratified 20 % of them is held out as the test set instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairnb.data.images import ImageDataset
from fairnb.errors import DataNotFoundError, ParameterError, one_of

DATASETS = ("colour_mnist", "celeba")


@dataclass
class ImageData:
    """Prepared images (float32 (n, c, size, size) in [0, 1]) with int target / sensitive arrays,
    split into train and test; names and labels are those of the loaded ``source`` data set."""

    name: str
    source: ImageDataset
    x_train: np.ndarray
    target_train: np.ndarray
    sensitive_train: np.ndarray
    x_test: np.ndarray
    target_test: np.ndarray
    sensitive_test: np.ndarray
    rules: list[str] = field(default_factory=list)

    @property
    def target_name(self) -> str:
        return self.source.target_name

    @property
    def sensitive_name(self) -> str:
        return self.source.sensitive_name

    @property
    def target_labels(self) -> dict[int, str]:
        return dict(self.source.target_labels)

    @property
    def sensitive_labels(self) -> dict[int, str]:
        return dict(self.source.sensitive_labels)

    @property
    def n_classes(self) -> int:
        return len(self.target_labels)

    def sizes(self) -> pd.DataFrame:
        """Images per (split, target, sensitive) subgroup, with readable labels."""
        rows = []
        for split, target, sensitive in (("train", self.target_train, self.sensitive_train), ("test", self.target_test, self.sensitive_test)):
            frame = pd.DataFrame({self.target_name: [self.target_labels[int(t)] for t in target],
                                  self.sensitive_name: [self.sensitive_labels[int(s)] for s in sensitive]})
            counts = frame.value_counts().rename("images").reset_index()
            counts.insert(0, "split", split)
            rows.append(counts)
        return pd.concat(rows).pivot_table(index=[self.target_name, self.sensitive_name], columns="split", values="images", fill_value=0).astype(int)


def stratified_sample(target: np.ndarray, sensitive: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded sample of ``size`` rows keeping each (target, sensitive) share."""
    n = len(target)
    if size <= 0 or size >= n:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    strata = np.asarray(target) * 2 + np.asarray(sensitive)
    counts = np.bincount(strata)
    stratify = strata if counts[counts > 0].min() >= 2 else None  # tiny fixtures: plain sampling
    keep, _ = train_test_split(np.arange(n), train_size=size, random_state=seed, stratify=stratify)
    return np.sort(keep)


def load_images(dataset: str, image_size: int, max_images: int = 0, data_path: str | None = None,
                correlation: float = 0.9, seed: int = 0) -> tuple[ImageData | None, str | None]:
    """Load and prepare an image dataset: ``(ImageData, None)``, or ``(None, message)`` when the
    user-supplied data (CelebA) is absent (the message says what to download and where to put it).

    Args:
        dataset: colour_mnist or celeba.
        image_size: side of the prepared images (power of two; 28×28 MNIST is padded to 32).
        max_images: training images kept (seeded, stratified); the test set is capped at the same
            number; 0 = all.
        data_path: CelebA's root folder (None = $FAIRNB_DATA); correlation: Colour-MNIST's colour–digit
            correlation; seed: colouring and sampling seed.
    """
    import fairnb.data
    from fairnb.paper000.conv import check_image_size, prepare_images

    if dataset not in DATASETS:
        raise ParameterError("dataset", dataset, one_of(DATASETS))
    check_image_size(image_size)
    if not isinstance(max_images, (int, np.integer)) or isinstance(max_images, bool) or max_images < 0:
        raise ParameterError("max_images", max_images, "an int >= 0 (0 = all)")
    try:
        if dataset == "colour_mnist":
            raw = fairnb.data.load("colour_mnist", correlation=correlation, seed=seed)
        else:
            # the loader reads (and resizes) every listed JPEG: read only what is used
            raw = fairnb.data.load("celeba", data_path=data_path, image_size=image_size,
                                   max_images=int(max_images * 1.25) if max_images else None)
    except DataNotFoundError as missing:
        return None, str(missing)
    rules = list(raw.rules)
    train, test = np.flatnonzero(raw.split == "train"), np.flatnonzero(raw.split == "test")
    if len(test) == 0:
        held = stratified_sample(raw.target[train], raw.sensitive[train], max(1, len(train) // 5), seed)
        test, train = train[held], np.delete(train, held)
        rules.append(f"No official test images among those read: a seeded, stratified 20 % ({len(test)} images) is held out as the test set.")
    train = train[stratified_sample(raw.target[train], raw.sensitive[train], max_images, seed)]
    test = test[stratified_sample(raw.target[test], raw.sensitive[test], max_images, seed + 1)]
    if max_images:
        rules.append(f"A seeded sample stratified by ({raw.target_name}, {raw.sensitive_name}): {len(train)} training and {len(test)} test images.")
    rules.append(f"Images as floats in [0, 1], {image_size} × {image_size}" +
                 (" (28 × 28 digits zero-padded)." if raw.images.shape[-1] == 28 and image_size == 32 else "."))
    return ImageData(
        name=dataset, source=raw, x_train=prepare_images(raw.images[train], image_size),
        target_train=raw.target[train].astype(np.int64), sensitive_train=raw.sensitive[train].astype(np.int64),
        x_test=prepare_images(raw.images[test], image_size), target_test=raw.target[test].astype(np.int64),
        sensitive_test=raw.sensitive[test].astype(np.int64), rules=rules), None


GENERATED = "generated images"
GENERATED_SOURCE_GROUP = "generated images, source's group (ablation)"
ABLATION = "source_group"  # record prefix of the ablation's scores


def decoding_groups(sensitive: np.ndarray, construction: str, seed: int) -> np.ndarray:
    """The group code (n,) the decoder gets for each source image, as paper 000's tabular records are built
    (``fairnb.paper000.construction``): ``random_group`` (the book's reading, the default) draws the group of a
    random training image for each image, independently of its source (the data's group shares are kept);
    ``source_group`` (the ablation) gives each image its own group, which the decoder then paints back."""
    from fairnb.paper000.construction import CONSTRUCTIONS, construction_rng

    sensitive = np.asarray(sensitive)
    if construction == "random_group":
        return sensitive[construction_rng(seed).integers(0, len(sensitive), size=len(sensitive))]
    if construction == "source_group":
        return sensitive.copy()
    raise ParameterError("construction", construction, one_of(CONSTRUCTIONS))


@dataclass
class Repetition:
    """One seed's fitted model, generated training images (or None) and scores."""

    seed: int
    model: Any
    generated: np.ndarray | None
    scores: dict[str, float]
    classifier: Any


@dataclass(frozen=True)
class ImageSettings:
    """Everything one image repetition needs besides its data and seed.

    Attributes:
        beta_exponent, quality_loss, lam: the teacher's β = 10**beta_exponent, the student's quality loss and KL weight.
        teacher_epochs, student_epochs, classifier_epochs: epochs of stage 1, stage 2 and the downstream CNN.
        batch_size: images per mini-batch; density_images: images compared for density and coverage.
        device: torch device.
    """

    beta_exponent: int = 7
    quality_loss: str = "l1"
    lam: float = 1.0
    teacher_epochs: int = 10
    student_epochs: int = 10
    classifier_epochs: int = 5
    batch_size: int = 128
    density_images: int = 2000
    device: str = "cpu"


def run_repetition(data: ImageData, seed: int, settings: ImageSettings = ImageSettings(), *, real_classifier: Any = None,
                   keep_images: bool = True) -> Repetition:
    """Stages 1–3 and the evaluation for one seed, under ``settings``.

    Generated data: x_fair = D(z', s') with z' ~ E'(x) for every training image x, s' the group of a random
    training image, labelled with x's target. Scores (see ``fairnb.metrics.image_scores``): ``accuracy``, ``dpr``, ``eor`` of a CNN
    trained on the generated images and tested on the real test images; ``density``/``coverage``
    of generated vs real test images in the embedding of ``real_classifier`` (a CNN trained on the
    real training images); distance correlation of the teacher's and the student's codes with s
    (``latent_dependence``);
    wall times. The decoder's group is drawn independently of the source image (``decoding_groups``,
    ``random_group``), as for tabular records; ``source_group/<score>``: the same, for a CNN trained on the
    codes decoded with each image's own group (the ablation).
    ``keep_images=False`` drops the generated images and the CNN after scoring (``generated`` and
    ``classifier`` are then None): with every CelebA image, one generated set is several GB.
    """
    from fairnb.metrics import image_scores as metrics
    from fairnb.paper000.conv import ImageFairDistillation

    classifier_epochs, batch_size, device = settings.classifier_epochs, settings.batch_size, settings.device
    model = ImageFairDistillation(data.x_train.shape[1], data.x_train.shape[-1], s_dim=len(data.sensitive_labels),
                                  beta_exponent=settings.beta_exponent, quality_loss=settings.quality_loss, lam=settings.lam,
                                  teacher_epochs=settings.teacher_epochs, student_epochs=settings.student_epochs,
                                  batch_size=batch_size, seed=seed, device=device).fit(data.x_train, data.sensitive_train)
    started = time.perf_counter()
    # stage 3 as for tabular records: each image decoded as a group drawn independently of its source
    generated = model.generate(data.x_train, decoding_groups(data.sensitive_train, "random_group", seed), seed=seed)
    classifier = metrics.train_classifier(generated, data.target_train, data.n_classes, classifier_epochs,
                                          batch_size=batch_size, seed=seed, device=device)
    scores = metrics.downstream_scores(data.name, data.target_test, metrics.predict(classifier, data.x_test, device),
                                       data.sensitive_test)
    # the ablation: the same codes decoded with each image's own group, which the decoder paints back
    own = model.generate(data.x_train, decoding_groups(data.sensitive_train, "source_group", seed), seed=seed)
    ablation = metrics.train_classifier(own, data.target_train, data.n_classes, classifier_epochs, batch_size=batch_size,
                                        seed=seed, device=device)
    ablation_scores = metrics.downstream_scores(data.name, data.target_test, metrics.predict(ablation, data.x_test, device),
                                                data.sensitive_test)
    scores |= {f"{ABLATION}/{name}": value for name, value in ablation_scores.items()}
    if real_classifier is not None:
        scores |= metrics.embedding_density_coverage(real_classifier, data.x_test, generated, n=settings.density_images,
                                                     seed=seed, device=device)
    scores |= latent_dependence(model, data, seed=seed)
    scores |= model.timings | {"evaluation_seconds": time.perf_counter() - started}
    if not keep_images:
        generated, classifier = None, None
    return Repetition(seed, model, generated, scores, classifier)


def latent_dependence(model: Any, data: ImageData, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """Distance correlation R(z, onehot(s)) of the teacher's and the student's posterior means on (up
    to ``n``, seeded) real test images: how much the codes still say about the group, 0 = independent,
    1 = a function of it. R² = V²(z, s) / sqrt(V²(z, z) V²(s, s)) with ``fairnb.metrics.dcov2``; unlike
    V² it does not shrink when the codes do, so teacher and student compare fairly."""
    import torch
    import torch.nn.functional as F

    from fairnb.metrics.dcov import dcov2

    rows = np.sort(np.random.default_rng(seed).choice(len(data.x_test), size=min(n, len(data.x_test)), replace=False))
    z, z_student = model.latents(data.x_test[rows], data.sensitive_test[rows], sample=False)
    s = F.one_hot(torch.as_tensor(data.sensitive_test[rows]), len(data.sensitive_labels)).double()

    def dcor(codes: np.ndarray) -> float:
        c = torch.as_tensor(codes, dtype=torch.float64)
        denominator = float(torch.sqrt(dcov2(c, c) * dcov2(s, s)))
        return float(torch.sqrt(dcov2(c, s) / denominator)) if denominator > 0 else 0.0

    return {"teacher_dcor": dcor(z), "student_dcor": dcor(z_student)}


def real_reference(data: ImageData, classifier_epochs: int = 5, batch_size: int = 128, seed: int = 0, device: str = "cpu") -> tuple[Any, dict[str, float]]:
    """The CNN trained on the real training images (the embedding for density/coverage) and its
    test scores (accuracy, DPR, EOR): what the generated data is compared with."""
    from fairnb.metrics import image_scores as metrics

    classifier = metrics.train_classifier(data.x_train, data.target_train, data.n_classes, classifier_epochs,
                                          batch_size=batch_size, seed=seed, device=device)
    scores = metrics.downstream_scores(data.name, data.target_test, metrics.predict(classifier, data.x_test, device),
                                       data.sensitive_test)
    return classifier, scores


def run(data: ImageData, seeds: list[int], settings: ImageSettings = ImageSettings()) -> tuple[list[Repetition], dict[str, float], pd.DataFrame]:
    """``real_reference`` once (first seed), then ``run_repetition`` per seed, under ``settings``.

    Returns:
        (repetitions, real-data scores, table with one row per source: "real" and one per seed).
    """
    real_classifier, real_scores = real_reference(data, settings.classifier_epochs, settings.batch_size, seeds[0],
                                                  settings.device)
    # only the first seed's images are shown: later seeds keep their scores and model, not their images
    repetitions = [run_repetition(data, seed, settings, real_classifier=real_classifier, keep_images=i == 0)
                   for i, seed in enumerate(seeds)]
    rows = [{"trained on": "real images", "seed": seeds[0], **real_scores}]
    for r in repetitions:
        headline = {k: v for k, v in r.scores.items() if not k.startswith(f"{ABLATION}/")}
        rows.append({"trained on": GENERATED, "seed": r.seed, **headline})
    for r in repetitions:
        rows.append({"trained on": GENERATED_SOURCE_GROUP, "seed": r.seed,
                     **{k.removeprefix(f"{ABLATION}/"): v for k, v in r.scores.items() if k.startswith(f"{ABLATION}/")}})
    return repetitions, real_scores, pd.DataFrame(rows)


def summary_table(table: pd.DataFrame, group_labels: dict[int, str] | None = None, columns: tuple[str, ...] = ("accuracy", "dpr", "eor", "positive_rate/0",
                                                                "positive_rate/1", "density", "coverage",
                                                                "teacher_dcor", "student_dcor")) -> pd.DataFrame:
    """Mean ± std (over seeds) of ``columns`` per training source, as strings for display.

    ``positive_rate/<g>`` is the share of test images of sensitive group g for which the CNN
    predicts the binary event (the two rates DPR compares); with ``group_labels`` (code → name)
    these columns are named ``event rate | <name>``."""
    present = [c for c in columns if c in table.columns]
    grouped = table.groupby("trained on", sort=False)[present]
    mean, std = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    out = (mean.round(3).astype(str) + " ± " + std.round(3).astype(str)).where(mean.notna(), "n/a")
    if group_labels:
        out = out.rename(columns={f"positive_rate/{g}": f"event rate | {label}" for g, label in group_labels.items()})
    return out


def parameter_table(model: Any) -> pd.DataFrame:
    """Trainable parameters of the teacher encoder E, the student E' and the decoder D."""
    counts = model.parameter_counts()
    table = pd.DataFrame({"parameters": counts}).rename_axis("network")
    table["relative to E"] = (table["parameters"] / counts["teacher_encoder"]).round(3)
    return table


def training_curves(repetition: Repetition):
    """Per-epoch loss terms of stage 1 (teacher) and stage 2 (student) of one repetition."""
    from fairnb.paper000.figures import training_figure

    return training_figure({"teacher": repetition.model.teacher_history, "student": repetition.model.student_history},
                           {"teacher": ("reconstruction", "kl", "fairness"), "student": ("quality",)})


def side_by_side(repetition: Repetition, data: ImageData, n: int = 10, seed: int = 0):
    """Real test images; teacher and student reconstructions with the own group; the student's
    with the other group (a counterfactual: binary sensitive attributes only)."""
    from fairnb.paper000.figures import real_vs_generated_figure

    rows = np.sort(np.random.default_rng(seed).choice(len(data.x_test), size=min(n, len(data.x_test)), replace=False))
    x, s = data.x_test[rows], data.sensitive_test[rows]
    model = repetition.model
    generated = {"teacher D(E(x), s)": model.generate(x, s, use="teacher", seed=seed),
                 "student D(E'(x), s)": model.generate(x, s, use="student", seed=seed)}
    if len(data.sensitive_labels) == 2:
        generated["student, other s"] = model.generate(x, 1 - s, use="student", seed=seed)
    return real_vs_generated_figure(x, generated, n=n)


HEADLINE = ("accuracy", "dpr", "eor")


def headline(table: pd.DataFrame | None) -> dict[str, float]:
    """Numbers quoted in the page's prose: first-seed scores of the classifier trained on generated
    (``generated_*``) and on real (``real_*``) images, density/coverage and the codes' V²; NaN when
    there is no table (absent data), so every glued name exists."""
    names = [f"{source}_{m}" for source in ("generated", "real") for m in HEADLINE]
    names += [f"{ABLATION}_{m}" for m in HEADLINE]
    names += ["generated_density", "generated_coverage", "teacher_dcor", "student_dcor"]
    if table is None:
        return {name: float("nan") for name in names}
    real = table[table["trained on"] == "real images"].iloc[0]
    generated = table[table["trained on"] == GENERATED].iloc[0]
    ablation = table[table["trained on"] == GENERATED_SOURCE_GROUP].iloc[0]
    values = {f"real_{m}": float(real[m]) for m in HEADLINE}
    values |= {f"generated_{m}": float(generated[m]) for m in HEADLINE + ("density", "coverage")}
    values |= {name: float(generated[name]) for name in ("teacher_dcor", "student_dcor")}
    values |= {f"{ABLATION}_{m}": float(ablation[m]) for m in HEADLINE}
    return {name: values[name] for name in names}


def report_metrics(table: pd.DataFrame) -> dict[str, list[float]]:
    """Per-repetition lists for ``fairnb.runs.report``: scores of the generated data (one per seed),
    the real-data reference, codes' dependence and stage timings."""
    generated = table[table["trained on"] == GENERATED]
    ablation = table[table["trained on"] == GENERATED_SOURCE_GROUP]
    real = table[table["trained on"] == "real images"]
    metrics = {name: generated[name].tolist() for name in HEADLINE + ("density", "coverage", "teacher_dcor", "student_dcor",
                                                                      "teacher_seconds", "student_seconds") if name in generated}
    metrics |= {f"{ABLATION}/{name}": ablation[name].tolist() for name in HEADLINE}
    metrics |= {f"real/{name}": real[name].tolist() for name in HEADLINE}
    return metrics
