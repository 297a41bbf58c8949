"""Stage 2 (distillation) and stage 3 (fair synthesis with FairLatentDistillation)."""

import numpy as np
import pandas as pd
import pytest
import torch

import fairnb.data
from fairnb.errors import ParameterError
from fairnb.nn.train import Training
from fairnb.paper000 import FairLatentDistillation, MLPEncoder, StudentEncoder, distill, quality_loss_fn
from fairnb.paper000.study import prepare_data



Z = torch.tensor([[1.0, -2.0], [0.0, 0.5]])
ZS = torch.tensor([[0.0, 0.0], [2.0, 0.5]])


@pytest.mark.parametrize("name,expected", [
    ("l1", (1 + 2 + 2 + 0) / 2),                           # Σ_j |z − z'| per row, mean over rows
    ("mse", (1 + 4 + 4 + 0) / 2),
    ("huber", ((0.5 * 1) + (2 - 0.5) + (2 - 0.5) + 0) / 2),  # δ = 1: ½d² if |d| ≤ 1 else |d| − ½
    ("mean_difference", abs(0.5 - 1.0) + abs(-0.75 - 0.25)),  # Σ_j |mean z_j − mean z'_j|
])
def test_quality_losses_hand_computed(name, expected):
    assert float(quality_loss_fn(name)(Z, ZS)) == pytest.approx(expected, rel=1e-6)


def test_bad_loss_and_lambda_raise():
    with pytest.raises(ParameterError, match="quality_loss"):
        quality_loss_fn("l3")
    train, _ = prepare_data("compas", "sex", max_rows=100, seed=0)
    fit = lambda model, sensitive="sex": model.fit(train, dataset="compas", sensitive=sensitive)  # noqa: E731
    for lam in (0.0, -1.0, float("nan"), "1"):
        with pytest.raises(ParameterError, match="lam"):
            fit(FairLatentDistillation(lam=lam))
    with pytest.raises(ParameterError, match="beta_exponent"):
        fit(FairLatentDistillation(beta_exponent=12))
    with pytest.raises(ParameterError, match="sensitive"):
        fit(FairLatentDistillation(), "age_group")
    with pytest.raises(ParameterError, match="dataset"):
        FairLatentDistillation().fit(train, dataset="adult2", sensitive="sex")


def _teacher_and_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    s = rng.integers(0, 2, size=n)
    torch.manual_seed(seed)
    return MLPEncoder(6, 2, 16, 4), x, s


def _distance(teacher, student, x, s) -> float:
    with torch.no_grad():
        xt, st = torch.as_tensor(x), torch.as_tensor(s)
        return float((teacher(xt, st)[0] - student(xt, st)[0]).norm(dim=1).mean())


@pytest.mark.parametrize("loss", ["l1", "mse", "huber"])
def test_distillation_reduces_distance(loss):
    teacher, x, s = _teacher_and_data()
    torch.manual_seed(1)
    student = StudentEncoder(6, 2, 8, 4)
    before = _distance(teacher, student, x, s)
    history = distill(teacher, student, x, s, Training(epochs=40, batch_size=100, lr=1e-2), quality_loss=loss, lam=0.1,
                      teacher_target="mean")
    assert _distance(teacher, student, x, s) < 0.5 * before
    assert history.distance.iloc[-1] < history.distance.iloc[0]
    assert all(p.requires_grad for p in teacher.parameters())  # the teacher is handed back trainable


def test_mean_difference_matches_batch_means():
    teacher, x, s = _teacher_and_data()
    torch.manual_seed(1)
    student = StudentEncoder(6, 2, 8, 4)
    xt, st = torch.as_tensor(x), torch.as_tensor(s)
    gap = lambda: float((teacher(xt, st)[0].mean(0) - student(xt, st)[0].mean(0)).abs().sum())
    with torch.no_grad():
        before = gap()
    distill(teacher, student, x, s, Training(epochs=40, batch_size=100, lr=1e-2), quality_loss="mean_difference", lam=0.1,
            teacher_target="mean")
    with torch.no_grad():
        assert gap() < 0.5 * before


@pytest.fixture(scope="module")
def fitted():
    train, test = prepare_data("compas", "sex", max_rows=300, seed=0)
    model = FairLatentDistillation(teacher_epochs=2, student_epochs=2, batch_size=128, seed=3)
    return model.fit(train, dataset="compas", sensitive="sex"), train, test


def test_synthetic_records_lie_in_the_schema(fitted):
    model, train, test = fitted
    synthetic = model.transform(test)
    ds = fairnb.data.load("compas")
    assert list(synthetic.columns) == list(test.columns) and len(synthetic) == len(test)
    for column in ds.categorical:
        assert set(synthetic[column]) <= set(ds.frame[column].astype(str))
    for column in ds.numeric:
        assert synthetic[column].between(ds.frame[column].min(), ds.frame[column].max()).all()
    for column in ds.integer:
        assert (synthetic[column] == np.rint(synthetic[column])).all()
    # the label comes from the source record; the sensitive value is the group the record was decoded as,
    # drawn independently of it (the paper's reading), so it is not the source's column copied
    assert (synthetic[ds.target].to_numpy() == test[ds.target].to_numpy()).all()
    assert set(synthetic["sex"]) <= set(ds.frame["sex"])
    assert (synthetic["sex"].to_numpy() != test["sex"].to_numpy()).any()
    assert len(model.sample(25)) == 25


def test_same_seed_same_synthetic(fitted):
    model, train, test = fitted
    pd.testing.assert_frame_equal(model.transform(test.head(50)), model.transform(test.head(50)))
    other = FairLatentDistillation(teacher_epochs=2, student_epochs=2, batch_size=128, seed=3).fit(train, dataset="compas", sensitive="sex")
    pd.testing.assert_frame_equal(model.transform(test.head(50)), other.transform(test.head(50)))


def test_student_is_smaller(fitted):
    counts = fitted[0].parameter_counts()
    assert counts["student_encoder"] < counts["teacher_encoder"]


def test_random_group_is_drawn_with_the_group_shares_and_independently_of_the_source(fitted):
    model, train, test = fitted
    rows = pd.concat([test] * 8, ignore_index=True)  # enough rows for the shares to be read
    records = model.transform(rows)
    share = (train["sex"] == fairnb.data.load("compas").privileged["sex"]).mean()
    decoded_share = (records["sex"] == fairnb.data.load("compas").privileged["sex"]).mean()
    assert abs(decoded_share - share) < 0.05
    # independent of the source: the agreement of two independent draws, not 1
    agreement = (records["sex"].to_numpy() == rows["sex"].to_numpy()).mean()
    assert agreement == pytest.approx(share ** 2 + (1 - share) ** 2, abs=0.05)
    pd.testing.assert_frame_equal(records, model.transform(rows))  # seeded


def test_source_group_ablation_copies_the_source_group(fitted):
    model, train, test = fitted
    ablation = model.transform(test, construction="source_group")
    assert (ablation["sex"].to_numpy() == test["sex"].to_numpy()).all()
    assert (ablation["no_recid"].to_numpy() == test["no_recid"].to_numpy()).all()
    assert not ablation.equals(model.transform(test))
    with pytest.raises(ParameterError, match="construction"):
        model.transform(test, construction="flip")
    with pytest.raises(ParameterError, match="categorical_decoding"):
        model.transform(test, categorical_decoding="mode")
    with pytest.raises(ParameterError, match="construction"):
        FairLatentDistillation(construction="copy").fit(train, dataset="compas", sensitive="sex")
