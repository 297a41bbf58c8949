"""Paper-000 baselines: schema of generated records, fairlearn wrappers, Decaf's graph, the
diffusion model, the comparison runner and the runtime ratios. Small real Adult samples,
1–2 epochs: the file runs in well under a minute on 2 cores."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

import fairnb.data
from fairnb.paper000.baselines.base import FairPredictor, SyntheticGenerator
from fairnb.paper000.baselines.classical import CorrelationRemoverBaseline, OriginalData, ThresholdOptimizerBaseline
from fairnb.paper000.comparison import METHODS, ComparisonSettings, run_comparison
from fairnb.paper000.baselines.decaf import DAGS, Decaf, ancestors, biased_edges, topological_order
from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator, LatentDiffusion, cosine_alphas_cumprod
from fairnb.paper000.baselines.hyperparameters import HYPERPARAMETERS, hyperparameter_table
from fairnb.paper000.runtime import ratios, split_time
from fairnb.paper000.baselines.tabfairgan import TabFairGAN
from fairnb.errors import ParameterError


@pytest.fixture(scope="module")
def adult():
    return fairnb.data.load("adult")


@pytest.fixture(scope="module")
def sample(adult):
    """300 training and 200 test rows of Adult, stratified by label × sex."""
    train, test = fairnb.data.split(adult, "sex", fairnb.data.PAPER_000, seed=0)
    rng = np.random.default_rng(0)
    return (adult.frame.iloc[rng.choice(train, 300, replace=False)].reset_index(drop=True),
            adult.frame.iloc[rng.choice(test, 200, replace=False)].reset_index(drop=True))


def check_schema(records: pd.DataFrame, dataset, n: int) -> None:
    assert len(records) == n
    assert list(records.columns) == list(dataset.frame.columns)
    assert records.dtypes.equals(dataset.frame.dtypes)
    for column in dataset.categorical + dataset.sensitive:
        assert set(records[column]) <= set(dataset.frame[column]), column
    assert set(records[dataset.target]) <= {0, 1}
    for column in dataset.numeric:
        assert records[column].between(dataset.frame[column].min(), dataset.frame[column].max()).all(), column


@pytest.mark.parametrize("make", [
    lambda: TabFairGAN(epochs=2, seed=0, device="cpu"),
    lambda: Decaf(epochs=2, seed=0, device="cpu"),
    lambda: FairDiscoGenerator(epochs=2, batch_size=128, seed=0, device="cpu"),
    lambda: FLDGM(epochs=2, teacher_epochs=1, teacher_batch_size=128, seed=0, device="cpu"),
    lambda: OriginalData(seed=0),
], ids=["tabfairgan", "decaf", "fairdisco", "fldgm", "original"])
def test_generator_fits_and_samples_the_schema(make, adult, sample):
    train, _ = sample
    model = make()
    assert isinstance(model, SyntheticGenerator)
    assert model.fit(train, dataset=adult, sensitive="sex") is model
    assert model.fit_seconds_ >= 0 and np.isfinite(model.fit_seconds_)
    if hasattr(model, "history_") and isinstance(model.history_, list) and model.history_ and isinstance(model.history_[0], dict):
        assert len(model.history_) == model.epochs and all(h["seconds"] > 0 for h in model.history_)
    check_schema(model.sample(123), adult, 123)


def test_generators_are_seeded(adult, sample):
    train, _ = sample
    for make in (lambda: TabFairGAN(epochs=1, seed=3, device="cpu"), lambda: Decaf(epochs=1, seed=3, device="cpu")):
        a, b = make().fit(train, dataset=adult, sensitive="race").sample(50), make().fit(train, dataset=adult, sensitive="race").sample(50)
        pd.testing.assert_frame_equal(a, b)


def test_bad_input_is_refused_before_training(adult, sample):
    train, _ = sample
    with pytest.raises(ParameterError, match="epochs"):
        TabFairGAN(epochs=0).fit(train, dataset=adult, sensitive="sex")
    with pytest.raises(ParameterError, match="fairness"):
        Decaf(fairness="equal").fit(train, dataset=adult, sensitive="sex")
    with pytest.raises(ParameterError, match="sensitive"):
        TabFairGAN(epochs=1, device="cpu").fit(train, dataset=adult, sensitive="age")
    with pytest.raises(ParameterError, match="columns missing"):
        Decaf(epochs=1, device="cpu").fit(train.drop(columns=["income"]), dataset=adult, sensitive="sex")
    with pytest.raises(RuntimeError, match="not fitted"):
        Decaf(epochs=1, device="cpu").sample(5)
    with pytest.raises(ParameterError, match="n="):
        OriginalData().fit(train, dataset=adult, sensitive="sex").sample(0)
    with pytest.raises(ParameterError, match="dataset"):
        ComparisonSettings("german", "sex")
    with pytest.raises(ParameterError, match="methods"):
        ComparisonSettings("adult", "sex", methods=("gan",))


def test_original_data_returns_the_training_rows(adult, sample):
    train, _ = sample
    pd.testing.assert_frame_equal(OriginalData().fit(train, dataset=adult, sensitive="sex").sample(len(train)), train, check_dtype=True)


def _onehot(adult, frame):
    categorical = adult.categorical + adult.sensitive
    encoder = fairnb.data.TabularEncoder(categorical, adult.numeric, scaling="standard")
    return encoder.fit(pd.concat([frame, adult.frame], ignore_index=True))


def test_correlation_remover_matches_fairlearn(adult, sample):
    from fairlearn.preprocessing import CorrelationRemover
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import OrdinalEncoder

    train, test = sample
    ours = CorrelationRemoverBaseline(classifier="random_forest", seed=4).fit(train, dataset=adult, sensitive="sex")
    assert isinstance(ours, FairPredictor)
    categorical = adult.categorical + adult.sensitive
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(adult.frame[categorical].astype(str))

    def features(frame):
        out = pd.DataFrame(ordinal.transform(frame[categorical].astype(str)), columns=categorical)
        for column in adult.numeric:
            out[column] = frame[column].to_numpy(dtype=float)
        return out

    remover = CorrelationRemover(sensitive_feature_ids=["sex"], alpha=1.0).fit(features(train))
    model = RandomForestClassifier(random_state=4).fit(remover.transform(features(train)), train["income"])
    np.testing.assert_array_equal(ours.predict(test), model.predict(remover.transform(features(test))))
    # alpha = 1 removes every linear correlation with the sensitive column on the training rows
    decorrelated = remover.transform(features(train))
    group = features(train)["sex"].to_numpy()
    assert np.abs([np.corrcoef(group, decorrelated[:, j])[0, 1] for j in range(decorrelated.shape[1])
                   if decorrelated[:, j].std() > 0]).max() < 1e-6


def test_threshold_optimizer_matches_fairlearn(adult, sample):
    from fairlearn.postprocessing import ThresholdOptimizer
    from sklearn.linear_model import LogisticRegression

    train, test = sample
    factory = lambda: LogisticRegression(max_iter=500)  # noqa: E731
    ours = ThresholdOptimizerBaseline(estimator=factory, seed=2).fit(train, dataset=adult, sensitive="sex")
    encoder = _onehot(adult, train)
    x_train, x_test = (encoder.transform(f).astype(np.float64) for f in (train, test))
    model = factory().fit(x_train, train["income"])
    direct = ThresholdOptimizer(estimator=model, constraints="demographic_parity", objective="accuracy_score",
                                prefit=True, predict_method="predict_proba")
    direct.fit(x_train, train["income"].to_numpy(), sensitive_features=train["sex"].astype(str).to_numpy())
    expected = direct.predict(x_test, sensitive_features=test["sex"].astype(str).to_numpy(), random_state=2)
    np.testing.assert_array_equal(ours.predict(test), expected)
    # the default (XGBoost) wrapper runs too, and post-processing moves selection rates together on training rows
    xgb = ThresholdOptimizerBaseline(seed=0).fit(train, dataset=adult, sensitive="sex")
    gap = lambda p: abs(p[train["sex"] == "Male"].mean() - p[train["sex"] == "Female"].mean())  # noqa: E731
    assert gap(xgb.predict(train)) <= gap(xgb.predict_unconstrained(train)) + 1e-9


def test_decaf_graphs_are_acyclic_and_dp_cuts_every_path():
    for name, dag in DAGS.items():
        order = topological_order(dag)
        assert sorted(order) == sorted(dag)
        for child, parents in dag.items():
            assert all(order.index(p) < order.index(child) for p in parents)
        target = fairnb.data.load(name).target
        for sensitive in fairnb.data.SENSITIVE[name]:
            cut = biased_edges(dag, sensitive, target, "dp")
            pruned = {c: [p for p in ps if not (c in cut and p in cut[c])] for c, ps in dag.items()}
            assert sensitive not in ancestors(pruned, target)
            assert biased_edges(dag, sensitive, target, "ftu") == ({target: [sensitive]} if sensitive in dag[target] else {})
            assert biased_edges(dag, sensitive, target, "none") == {}
    with pytest.raises(ValueError, match="cycle"):
        topological_order({"a": ["b"], "b": ["a"]})


def test_diffusion_schedule_and_learning():
    alphas = cosine_alphas_cumprod(1000)
    assert alphas.shape == (1000,) and bool((alphas[1:] <= alphas[:-1]).all()) and 0 < alphas[-1] < 1e-3 < alphas[0] <= 1
    torch.manual_seed(0)
    data = (torch.rand(512, 2) > 0.5).float() - 0.5  # four points (±0.5, ±0.5)
    model = LatentDiffusion(2, timesteps=100, hidden=64)
    rng = torch.Generator().manual_seed(0)
    history = model.fit(data, epochs=60, batch_size=128, lr=1e-3, betas=(0.9, 0.99), rng=rng)
    assert np.mean(history[-10:]) < np.mean(history[:5])
    samples = model.sample(400, steps=50, rng=rng)
    assert samples.shape == (400, 2) and float(samples.abs().max()) <= 1.0 + 1e-6


def test_comparison_reports_every_method_metric_pair():
    settings = ComparisonSettings("adult", "sex", max_rows=300, methods=("original", "correlation_remover", "tabfairgan"),
                                  tabfairgan_epochs=1, classifier="xgboost")
    result = run_comparison(settings, [0])
    metrics = result.metrics()
    assert {"original/dpr", "correlation_remover/f1", "tabfairgan/density", "tabfairgan/fit_seconds"} <= set(metrics)
    assert "correlation_remover/density" not in metrics
    assert all(len(v) == 1 for v in metrics.values())
    assert 0 <= metrics["original/dpr"][0] <= 1 and 0 < metrics["original/accuracy"][0] <= 1
    assert list(result.summary().index) == ["TabFairGAN", "CorrelationRemover", "Original data"]
    assert set(METHODS) == {"tabfairgan", "decaf", "fldgm", "fairdisco", "correlation_remover", "threshold_optimizer", "original"}


def test_runtime_ratio_reading():
    rows = []
    for seed, scale in ((0, 1.0), (1, 2.0)):
        for method, stage, seconds in (("ours", "teacher", 8), ("ours", "student", 2), ("fldgm", "teacher", 8),
                                       ("fldgm", "diffusion", 4.3), ("tabfairgan", "gan", 20.5), ("decaf", "gan", 25.3)):
            rows.append({"seed": seed, "method": method, "stage": stage, "seconds": seconds * scale,
                         "projected_seconds": seconds * scale * 10})
    table = ratios(pd.DataFrame(rows)).set_index(["timing", "method"])
    assert table.loc[("measured", "fldgm"), "ratio_mean"] == pytest.approx(0.23)
    assert table.loc[("projected", "tabfairgan"), "ratio_mean"] == pytest.approx(1.05)
    assert table.loc[("measured", "decaf"), "ratio_mean"] == pytest.approx(1.53)
    assert table.loc[("measured", "decaf"), "ratio_std"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc[("measured", "decaf"), "share_mean"] == pytest.approx(15.3 / 25.3)


def test_runtime_setup_and_steady_epochs():
    assert split_time(10.0, [4.0, 2.0, 2.0]) == (2.0, 2.0)
    assert split_time(3.0, [2.5]) == (0.5, 2.5)
    assert split_time(1.0, [0.6, 0.6])[0] == 0.0
    with pytest.raises(ParameterError):
        split_time(1.0, [])


def test_every_hyperparameter_has_a_source():
    table = hyperparameter_table()
    assert set(table.baseline) >= set(HYPERPARAMETERS)
    assert table.source.str.len().min() > 10


def test_tabfairgdt_is_a_default_comparison_row_shown_apart():
    from fairnb.paper000 import comparison

    settings = ComparisonSettings("adult", "sex")
    assert settings.methods == METHODS + ("tabfairgdt",) and comparison.BEYOND_PAPER == ("tabfairgdt",)
    assert comparison.ROWS[-1] == "tabfairgdt" and comparison.LABELS["tabfairgdt"].endswith("(not in the paper)")
    assert "tabfairgdt" not in comparison.rows_of("paper") and comparison.rows_of("beyond") == ("tabfairgdt",)
    with pytest.raises(ParameterError, match="tabfairgdt_lamda"):
        ComparisonSettings("adult", "sex", tabfairgdt_lamda=1.5)
    with pytest.raises(ParameterError, match="rows"):
        comparison.rows_of("others")
    assert comparison.make_method("tabfairgdt", replace(settings, tabfairgdt_lamda=0.2), seed=3).lamda == 0.2
    assert set(HYPERPARAMETERS["tabfairgdt"]) >= {"lamda", "criterion", "acc_threshold", "min_samples_leaf"}
    assert all(s.source for s in HYPERPARAMETERS["tabfairgdt"].values())


def test_tabfairgdt_row_comes_after_the_papers_rows_and_degenerate_rows_are_marked():
    from fairnb.paper000 import figures

    settings = ComparisonSettings("adult", "sex", max_rows=300, methods=("original", "tabfairgdt"))
    result = run_comparison(settings, [0])
    assert list(result.summary().index)[-1].startswith("TabFairGDT (not in the paper)")
    assert list(result.summary(rows="paper").index) == ["Original data"]
    assert [i.split(" ⚠")[0] for i in result.summary(rows="beyond").index] == ["TabFairGDT (not in the paper)"]
    # a degenerate repetition: the trade-off figure draws the row hollow and grey and says so in its legend
    result.table.loc[(result.table.method == "original") & (result.table.metric == "degenerate"), "value"] = 1.0
    assert result.label("original") == "Original data ⚠ degenerate 1/1"
    ax = figures.tradeoff(result).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Original data — degenerate 1/1" in labels
    data = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert data and data[0].get_markerfacecolor() == "none"
    assert any("(degenerate)" in t.get_text() for t in figures.metric_bars(result).axes[0].get_xticklabels())


def test_runtime_times_tabfairgdt_apart_without_a_paper_claim():
    from fairnb.paper000 import runtime

    rows = []
    for seed in (0, 1):
        for method, stage, seconds in (("ours", "teacher", 8), ("ours", "student", 2), ("fldgm", "teacher", 8),
                                       ("fldgm", "diffusion", 4), ("tabfairgan", "gan", 20), ("decaf", "gan", 25),
                                       ("tabfairgdt", "trees", 1)):
            rows.append({"seed": seed, "method": method, "stage": stage, "seconds": seconds, "projected_seconds": seconds * 10})
    table = ratios(pd.DataFrame(rows))
    assert table[table.timing == "measured"].method.tolist() == ["fldgm", "tabfairgan", "decaf", "tabfairgdt"]
    shown = runtime.ratio_table(pd.DataFrame(rows))
    assert shown[shown["compared with"] == "TabFairGDT (not in the paper)"]["paper claim"].tolist() == ["not in the paper"] * 2
    assert runtime.published_epochs("trees", "tabfairgdt", "adult") == 0
    assert runtime.GENERATORS[-1] == "tabfairgdt" and "tabfairgdt" not in runtime.PAPER_CLAIMS


def test_runtime_chapter_times_tabfairgdt_without_epochs():
    from fairnb.paper000.runtime import time_generators

    times = time_generators("adult", "sex", [0], epochs=1, max_rows=200, batch_size=64, device="cpu")
    trees = times[times.method == "tabfairgdt"].iloc[0]
    assert trees.stage == "trees" and trees.epochs == 0 and trees.projected_seconds == trees.seconds > 0
    assert list(dict.fromkeys(times.method))[-1] == "tabfairgdt"


def test_comparison_keeps_every_trained_generators_learning_curve_and_ending():
    settings = ComparisonSettings("adult", "sex", max_rows=300, methods=("original", "correlation_remover", "tabfairgan", "decaf"),
                                  tabfairgan_epochs=2, decaf_epochs=3, classifier="xgboost")
    result = run_comparison(settings, [0, 1])
    assert set(result.curves) == {0, 1}
    assert set(result.curves[0]) == {"tabfairgan", "decaf"}  # the methods that train by epochs, nothing else
    history, ending = result.curves[0]["decaf"]
    assert len(history) == ending.epochs <= 3
    table = result.convergence()
    assert list(table.columns) == ["generator", "seed", "rule", "epochs run", "kept epoch", "stopped by"]
    assert len(table) == 4 and set(table.seed) == {0, 1}
    gan = table[table.generator == "TabFairGAN"].iloc[0]
    assert gan["epochs run"] == 2 and gan["rule"] == "a fixed budget of 2 epochs" and gan["stopped by"] == "the budget"
    fig = result.learning_curves()
    assert [ax.get_title().splitlines()[0] for ax in fig.axes if ax.get_title()] == ["TabFairGAN", "Decaf"]
    metrics = result.metrics()  # the record says how each training ended
    assert metrics["tabfairgan/epochs_run"] == [2.0, 2.0] and metrics["tabfairgan/stopped_early"] == [0.0, 0.0]
    assert metrics["decaf/epochs_run"] == [float(result.curves[s]["decaf"][1].epochs) for s in (0, 1)]
    assert "original/epochs_run" not in metrics and "correlation_remover/stopped_early" not in metrics
