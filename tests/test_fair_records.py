"""Behaviour of paper 000's own method and of its fair baselines on data where the group drives the label.

On the constructed table of the conformance suite (``tests.test_generators.toy``: favourable rate 0.85 in
group a, 0.15 in group b, and size larger in group a), a classifier trained on the original rows inherits
the gap: its demographic parity ratio (DPR) on held-out real rows is low. Records built by the paper's
construction (``fairnb.paper000.construction``: decoded as a random group from a fair latent) must give a
DPR well above it — for FairDisco's records, for an L1-KL student's and for FLDGMs'. The ablation that
decodes each record as its source's group and copies that group's value and label must not: it hands the
classifier the source's (group, label) pair. (Decaf is not here: on this table its generator needs far more
than a test's seconds to learn the label at all.) Decisions are fixed here, before any number is read: "well above" is a DPR at least 0.3 higher.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
from fairnb.paper000.pipeline import FairLatentDistillation
from tests.test_generators import toy

TRAIN, TEST = toy(1500, seed=0), toy(1500, seed=1)
MARGIN = 0.3


def downstream_dpr(records: pd.DataFrame, seed: int = 0) -> float:
    """DPR on the real held-out ``TEST`` rows of a random forest trained on ``records`` (features: colour,
    size and the group column, as the book's classifier sees the sensitive column)."""
    def features(frame: pd.DataFrame) -> pd.DataFrame:
        encoded = pd.get_dummies(frame[["colour", "group"]].astype(str)).astype(float)
        return encoded.assign(size=frame["size"].astype(float))

    train, test = features(records), features(TEST.frame)
    test = test.reindex(columns=train.columns, fill_value=0.0)
    model = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=1)
    predicted = model.fit(train, records["label"].astype(int)).predict(test)
    rates = pd.Series(predicted).groupby(TEST.frame["group"].to_numpy()).mean()
    return float(rates.min() / rates.max()) if rates.max() > 0 else float("nan")


def fit(model):
    return model.fit(TRAIN.frame, dataset=TRAIN, sensitive="group")


@pytest.fixture(scope="module")
def original_dpr() -> float:
    dpr = downstream_dpr(TRAIN.frame)
    assert dpr < 0.4  # the constructed gap reaches the classifier (favourable rates 0.85 vs 0.15)
    return dpr


@pytest.fixture(scope="module")
def ours() -> FairLatentDistillation:
    return fit(FairLatentDistillation(teacher_epochs=40, student_epochs=40, batch_size=128, lr=5e-3, seed=0,
                                      patience=0, quality_loss="l1"))


def test_l1_students_records_are_fairer_than_the_original_data(ours, original_dpr):
    assert downstream_dpr(ours.transform(TRAIN.frame)) > original_dpr + MARGIN


def test_fairdisco_records_are_fairer_than_the_original_data(ours, original_dpr):
    assert downstream_dpr(ours.transform(TRAIN.frame, use="teacher")) > original_dpr + MARGIN
    generator = fit(FairDiscoGenerator(epochs=200, batch_size=128, seed=0, device="cpu", patience=0))
    assert downstream_dpr(generator.sample(len(TRAIN.frame))) > original_dpr + MARGIN


def test_the_source_group_ablation_is_not_fairer_than_the_paper_construction(ours, original_dpr):
    paper = downstream_dpr(ours.transform(TRAIN.frame))
    ablation = downstream_dpr(ours.transform(TRAIN.frame, construction="source_group"))
    assert ablation < paper - MARGIN
    assert ablation < original_dpr + 0.15  # the copied (group, label) pair keeps the data's gap


def test_fldgm_records_are_fairer_than_the_original_data(original_dpr):
    teacher = fit(FairDiscoGenerator(epochs=200, batch_size=128, seed=0, device="cpu", patience=0))
    records = fit(FLDGM(epochs=5, teacher=teacher, seed=0, device="cpu", patience=0)).sample(len(TRAIN.frame))
    assert downstream_dpr(records) > original_dpr + MARGIN


def test_sampled_categories_keep_the_rare_ones_that_argmax_loses(ours):
    sampled = ours.transform(TRAIN.frame)["colour"].value_counts(normalize=True)
    argmax = ours.transform(TRAIN.frame, categorical_decoding="argmax")["colour"].value_counts(normalize=True)
    # the data: red 70 %, green 20 %, blue 10 %
    assert sampled.get("blue", 0.0) > 0.03 and sampled.get("green", 0.0) > 0.08
    assert argmax.get("red", 0.0) > sampled.get("red", 0.0)
