"""Stated training rules: the device-resident loop, early stopping, collapse detection, the model store's reuse."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from fairnb.errors import ParameterError
from fairnb.metrics.collapse import collapse_check, moment_distance
from fairnb.nn import train as train_module
from fairnb.nn.store import ModelStore
from fairnb.nn.train import (FIXED_BUDGET, EarlyStopping, StoppingRule, Training, TrainingRule, convergence, replay,
                             stopping_rule, train_loop, validation_split)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private model store."""
    monkeypatch.setenv("FAIRNB_MODEL_STORE", str(tmp_path / "models"))


def regression(n: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.normal(size=(n, 3)), dtype=torch.float32)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.as_tensor(rng.normal(size=n), dtype=torch.float32)
    return x, y


def fit(epochs: int = 30, seed: int = 0, validation: bool = True, **kwargs):
    x, y = regression()
    torch.manual_seed(123)
    model = torch.nn.Linear(3, 1)
    step = lambda b: {"loss": ((model(b[0]).squeeze(1) - b[1]) ** 2).mean()}  # noqa: E731
    rule = {k: kwargs.pop(k) for k in ("patience", "min_delta", "min_epochs", "monitor") if k in kwargs}
    history = train_loop(model.parameters(), step, (x[:200], y[:200]), Training(epochs, batch_size=32, lr=0.05, seed=seed, **rule),
                         modules=(model,), validation=(x[200:], y[200:]) if validation else None, **kwargs)
    return model, history


def test_same_seed_same_numbers_other_seed_other_batches():
    a, b, c = fit(seed=1)[1], fit(seed=1)[1], fit(seed=2)[1]
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))
    assert not np.allclose(a["loss"], c["loss"])


def test_validation_is_measured_without_changing_training():
    with_validation, without = fit()[1], fit(validation=False)[1]
    np.testing.assert_array_equal(with_validation["loss"], without["loss"])
    assert "val_loss" in with_validation and "val_loss" not in without


def test_fixed_budget_runs_every_epoch():
    _, history = fit(epochs=7)
    found = convergence(history)
    assert len(history) == 7 and found.stopped == "budget" and found.best_epoch == 7 and found.criterion == ""
    assert "fixed budget of 7 epochs" in found.rule


def test_early_stopping_stops_and_keeps_the_best_epoch():
    model, history = fit(epochs=500, patience=5, min_delta=1e-3)
    found = convergence(history)
    assert found.stopped == "early" and len(history) < 500
    assert len(history) == found.best_epoch + 5
    x, y = regression()
    with torch.no_grad():
        kept = float(((model(x[200:]).squeeze(1) - y[200:]) ** 2).mean())
    assert kept == pytest.approx(history["val_loss"].iloc[found.best_epoch - 1], rel=1e-5)
    assert replay(history, stopping_rule(500, 5, 1e-3), "validation loss") == found
    assert "has not improved by more than 0.1% for 5 epochs" in found.rule


def test_rule_needs_held_out_rows_and_valid_numbers():
    with pytest.raises(ParameterError, match="validation"):
        fit(validation=False, patience=3)
    for bad in (dict(max_epochs=0), dict(max_epochs=3, patience=-1), dict(max_epochs=3, min_delta=float("nan"))):
        with pytest.raises(ParameterError):
            StoppingRule(**bad)
    with pytest.raises(ParameterError, match="validation_fraction"):
        TrainingRule(patience=3, validation_fraction=0.0)
    with pytest.raises(ParameterError, match="reuse"):
        TrainingRule(reuse="yes")


def test_early_stopping_helper_for_any_loop():
    stopper = EarlyStopping(StoppingRule(100, patience=2, min_delta=0.0), "criterion")
    values = [5.0, 4.0, 4.5, 4.2]
    stops = [stopper.update(epoch, value, snapshot=lambda e=epoch: e) for epoch, value in enumerate(values, start=1)]
    assert stops == [False, False, False, True]
    assert stopper.best_epoch == 2 and stopper.best_state == 2 and stopper.result(4).stopped == "early"


def test_validation_split_is_seeded_and_disjoint():
    train_rows, held = validation_split(100, 0.1, seed=3)
    again = validation_split(100, 0.1, seed=3)
    assert len(held) == 10 and not set(train_rows) & set(held) and len(train_rows) + len(held) == 100
    np.testing.assert_array_equal(held, again[1])
    assert len(validation_split(100, 0.0, seed=3)[1]) == 0


def test_a_generator_without_a_rule_trains_a_fixed_budget():
    assert TrainingRule(patience=4, validation_fraction=0.2).rule(50) == stopping_rule(50, 4, 1e-3)
    rule, fraction = train_module.resolve_stopping(50, None, None, None)
    assert (rule.patience, fraction) == (FIXED_BUDGET.patience, FIXED_BUDGET.validation_fraction) == (0, 0.0)
    rule, fraction = train_module.resolve_stopping(50, 3, None, 0.1)
    assert rule.patience == 3 and fraction == 0.1


def test_a_run_configuration_carries_its_rule_and_changes_nothing_else():
    import fairnb.runs

    config = fairnb.runs.resolve({"profile": "smoke", "seed": 0})
    assert config.training == TrainingRule(patience=1, validation_fraction=0.1, reuse=True)
    explicit = fairnb.runs.resolve({"profile": "smoke", "seed": 0, "patience": 0, "validation_fraction": 0.0})
    assert explicit.training.patience == 0 and explicit.training.validation_fraction == 0.0
    # resolving a run no longer changes what a generator built without a rule does
    rule, fraction = train_module.resolve_stopping(50, None, None, None)
    assert rule.patience == 0 and fraction == 0.0


# --------------------------------------------------------------------------- collapse


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2]),
                         "size": rng.normal(10, 2, size=n), "label": rng.integers(0, 2, size=n)})


def test_collapse_check_passes_a_fair_copy_and_names_each_failure():
    real = frame()
    assert not collapse_check(real, frame(seed=1)).collapsed
    broken = frame(seed=1).assign(colour="red")
    report = collapse_check(real, broken)
    assert report.collapsed and "colour" in report.reason and "100.0%" in report.reason
    flat = frame(seed=1).assign(size=10.0)
    assert "variance 0× the data's (collapsed)" in collapse_check(real, flat).reason
    exploded = frame(seed=1).assign(size=lambda f: f["size"] * 1000)
    assert "(diverged)" in collapse_check(real, exploded).reason
    nan = frame(seed=1).assign(size=np.nan)
    assert "NaN" in collapse_check(real, nan).reason
    assert "missing" in collapse_check(real, real.drop(columns="label")).reason
    assert set(collapse_check(real, real).table.columns) == {"column", "kind", "statistic", "value", "flagged"}


def test_a_zero_inflated_count_may_collapse_to_its_mode():
    real = frame().assign(count=lambda f: np.where(np.arange(len(f)) % 20 == 0, 3, 0))
    assert not collapse_check(real, real.assign(count=0), columns=["count"]).collapsed
    assert collapse_check(real.assign(count=lambda f: np.arange(len(f)) % 5), real.assign(count=0), columns=["count"]).collapsed


def test_moment_distance():
    rng = np.random.default_rng(0)
    a = rng.random((500, 4))
    assert moment_distance(a, a) == 0.0
    assert moment_distance(a, a + 0.5) > moment_distance(a, a + 0.1) > 0


# --------------------------------------------------------------------------- train once, reuse


def test_concurrent_callers_train_a_key_once(tmp_path):
    store = ModelStore(tmp_path / "store")
    calls = []

    def train():
        calls.append(1)
        threading.Event().wait(0.3)
        return {"w": torch.ones(2)}, {"n": 1}

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get_or_train({"a": 1}, "c" * 8, [fit], train)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and sorted(hit for _, _, hit in results) == [False, True, True]
    assert [p.name for p in store.root.iterdir()] == [store.key({"a": 1}, "c" * 8, [fit]) + ".pt"]


@pytest.fixture(scope="module")
def adult_rows():
    from fairnb.paper000.study import prepare_data

    train, _ = prepare_data("adult", "sex", 400, 0)
    return train


def teacher(adult_rows, **settings):
    from fairnb.paper000.pipeline import stored_teacher

    values = dict(teacher_epochs=4, batch_size=128, seed=0, patience=2, validation_fraction=0.1, reuse_teacher=True) | settings
    return stored_teacher(adult_rows, dataset="adult", sensitive="sex", **values)


def test_teacher_is_trained_once_and_reused(adult_rows):
    first = teacher(adult_rows)
    second = teacher(adult_rows)
    assert not first.teacher_reused_ and second.teacher_reused_
    assert second.timings_["teacher_seconds"] == pytest.approx(first.timings_["teacher_seconds"])
    pd.testing.assert_frame_equal(first.teacher_history_, second.teacher_history_, check_dtype=False)
    assert second.teacher_convergence_ == first.teacher_convergence_
    pd.testing.assert_frame_equal(first.transform(adult_rows, use="teacher"), second.transform(adult_rows, use="teacher"))
    assert not teacher(adult_rows, beta_exponent=3).teacher_reused_  # a changed setting retrains
    assert not teacher(adult_rows, reuse_teacher=False).teacher_reused_  # timing studies train afresh
    assert not teacher(adult_rows.iloc[:300]).teacher_reused_  # other rows, another model


def test_a_teacher_its_rule_stopped_serves_every_larger_budget(adult_rows):
    first = teacher(adult_rows, teacher_epochs=200, patience=1)
    used = first.teacher_convergence_.epochs
    assert first.teacher_convergence_.stopped == "early" and used < 200
    larger = teacher(adult_rows, teacher_epochs=800, patience=1)
    assert larger.teacher_reused_ and "at most 800 epochs" in larger.teacher_convergence_.rule
    pd.testing.assert_frame_equal(first.transform(adult_rows, use="teacher"), larger.transform(adult_rows, use="teacher"))
    assert not teacher(adult_rows, teacher_epochs=used - 1, patience=1).teacher_reused_  # too small a budget: another run


def test_students_are_reused_on_the_same_teacher(adult_rows):
    model = teacher(adult_rows, student_epochs=3)
    x, s = model.prepare(adult_rows, dataset="adult", sensitive="sex")
    model.fit_teacher(x, s)
    model.fit_student(x, s, quality_loss="l1")
    first = model.transform(adult_rows)
    assert not model.student_reused_
    model.fit_student(x, s, quality_loss="mse")
    assert not model.student_reused_
    model.fit_student(x, s, quality_loss="l1")
    assert model.student_reused_ and model.student_convergence_ is not None
    pd.testing.assert_frame_equal(first, model.transform(adult_rows))


def test_baselines_reuse_their_training(adult_rows):
    from fairnb.paper000.baselines.decaf import Decaf
    from fairnb.paper000.baselines.fldgm import FLDGM

    made = lambda cls, **kw: cls(seed=0, device="cpu", patience=1, validation_fraction=0.1, reuse=True, **kw).fit(  # noqa: E731
        adult_rows, dataset="adult", sensitive="sex")
    decaf = [made(Decaf, epochs=2), made(Decaf, epochs=2, fairness="ftu")]
    assert [d.reused_ for d in decaf] == [False, True] and decaf[1].fit_seconds_ == decaf[0].fit_seconds_
    assert "val_moment_distance" in decaf[0].learning_curve_ and decaf[0].convergence_ == decaf[1].convergence_
    fldgm = [made(FLDGM, epochs=2, teacher_epochs=1), made(FLDGM, epochs=2, teacher_epochs=1)]
    assert [f.reused_ for f in fldgm] == [False, True]
    pd.testing.assert_frame_equal(fldgm[0].sample(50, seed=1), fldgm[1].sample(50, seed=1))
    assert "val_loss" in fldgm[1].learning_curve_


def test_teacher_collapse_report(adult_rows):
    report = teacher(adult_rows).collapse_report(adult_rows, use="teacher")
    assert set(report.table.column) >= {"age", "workclass", "income", "sex"}


def test_translator_is_trained_once_and_reused():
    import fairnb.data
    from fairnb.paper002.study import prepare, train_translator
    from fairnb.paper002.translator import TranslatorSettings

    data = prepare(fairnb.data.load("german"), sensitive="sex", seed=0, max_rows=200)
    settings = TranslatorSettings(steps=12, hidden=8, z_dim=4, batch_size=32, check_every=4, patience=1, lr=1e-3)
    first = train_translator(data, settings=settings, seed=0, device="cpu", reuse=True)
    second = train_translator(data, settings=settings, seed=0, device="cpu", reuse=True)
    assert not first.reused_ and second.reused_ and second.steps_ == first.steps_
    x = data.x["test"][:5]
    np.testing.assert_array_equal(first.translate(x, target_sensitive=np.ones(5, int), target_y=np.zeros(5, int)),
                                  second.translate(x, target_sensitive=np.ones(5, int), target_y=np.zeros(5, int)))
    assert "val_criterion" in first.history_ and first.convergence_ == second.convergence_
    assert not train_translator(data, settings=settings, seed=1, device="cpu", reuse=True).reused_
    assert not train_translator(data, settings=settings, seed=0, device="cpu").reused_  # reuse is off outside runs


def test_budget_scales_every_epoch_budget():
    from fairnb.paper000.budget import scaled_settings
    from fairnb.paper000.comparison import ComparisonSettings

    settings = ComparisonSettings(dataset="adult", sensitive="sex", fairdisco_epochs=10, distill_epochs=5,
                                  tabfairgan_epochs=3, decaf_epochs=4, fldgm_epochs=6)
    doubled = scaled_settings(settings, 2.0)
    assert [doubled.epochs(m) for m in ("fairdisco", "distill", "tabfairgan", "decaf", "fldgm")] == [20, 10, 6, 8, 12]
    with pytest.raises(ParameterError):
        scaled_settings(settings, 0)


def test_budget_verdicts_say_whether_a_sign_survives():
    from fairnb.paper000.budget import headline_table, report_values, verdicts

    rows = []
    for multiplier, gap in ((1.0, 0.10), (2.0, 0.08), (4.0, -0.05)):
        for seed in (0, 1):
            rows += [{"multiplier": multiplier, "method": "ours_l1", "seed": seed, "metric": "dpr", "value": 0.9},
                     {"multiplier": multiplier, "method": "decaf", "seed": seed, "metric": "dpr", "value": 0.9 - gap},
                     {"multiplier": multiplier, "method": "ours_l1", "seed": seed, "metric": "accuracy", "value": 0.8},
                     {"multiplier": multiplier, "method": "decaf", "seed": seed, "metric": "accuracy", "value": 0.7}]
    table = pd.DataFrame(rows)
    found = verdicts(table).set_index(["baseline", "metric"])
    assert not found.loc[("decaf", "dpr"), "same verdict"] and found.loc[("decaf", "accuracy"), "same verdict"]
    assert found.loc[("decaf", "dpr"), "4×"] == pytest.approx(-0.05)
    assert list(headline_table(table).columns) == ["1×", "2×", "4×"]
    assert report_values(table)["x2/decaf/dpr"] == pytest.approx([0.82, 0.82])


def test_budget_endings_table_counts_rule_stops_per_multiple():
    from fairnb.paper000.budget import endings_table

    rows = []
    for multiplier in (1.0, 2.0):
        for seed in (0, 1):
            rows += [{"multiplier": multiplier, "method": "decaf", "seed": seed, "metric": "epochs_run", "value": 30.0 + seed * 10},
                     {"multiplier": multiplier, "method": "decaf", "seed": seed, "metric": "stopped_early", "value": float(seed == 0 or multiplier == 2.0)},
                     {"multiplier": multiplier, "method": "tabfairgan", "seed": seed, "metric": "epochs_run", "value": 10.0 * multiplier},
                     {"multiplier": multiplier, "method": "tabfairgan", "seed": seed, "metric": "stopped_early", "value": 0.0}]
    table = endings_table(pd.DataFrame(rows))
    assert list(table.columns) == ["1×", "2×"] and list(table.index) == ["Decaf", "TabFairGAN"]
    assert table.loc["Decaf", "1×"] == "35 ep., 1/2 stopped by its rule" and table.loc["Decaf", "2×"] == "35 ep., 2/2 stopped by its rule"
    assert table.loc["TabFairGAN", "2×"] == "20 ep., 0/2 stopped by its rule"
