"""Conformance suite of the paper-000 generators (CONTRIBUTING.md, Protocols).

Every generator — ours (``FairLatentDistillation``), FairDisco, TabFairGAN, Decaf, FLDGMs, the
original data and TabFairGDT (when its package is installed) — is checked for the same contract
on a small constructed table (colour, size, group, label; the label depends strongly on the
group): ``__init__`` stores its settings and nothing else; ``fit(frame, *, dataset, sensitive)``
returns the model and adds only attributes ending in ``_``; ``sample(n, *, seed)`` returns records
with the data's schema and is reproducible; an unfitted model raises ``NotFittedError``; bad input
raises a one-line ``ParameterError`` naming the parameter, the value and what is allowed; a tiny
fit learns something about the data; the fair generators move demographic parity the way their
loss says. Where a method's published learning rate needs thousands of steps, the learning tests
raise it (and shrink the batch) through the hyper-parameter table, so that a few seconds show the
direction; nothing else is changed.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from fairnb.data import TabularDataset
from fairnb.errors import ParameterError
from fairnb.paper000.baselines import hyperparameters as hp
from fairnb.paper000.baselines.base import NotFittedError, SyntheticGenerator
from fairnb.paper000.baselines.classical import OriginalData
from fairnb.paper000.baselines.decaf import Decaf
from fairnb.paper000.baselines.fldgm import FLDGM, FairDiscoGenerator
from fairnb.paper000.baselines.tabfairgan import TabFairGAN
from fairnb.paper000.baselines.tabfairgdt import TabFairGDT
from fairnb.paper000.pipeline import FairLatentDistillation

HAS_TABFAIRGDT = importlib.util.find_spec("tabfairgdt") is not None


def toy(n: int = 512, seed: int = 0) -> TabularDataset:
    """colour (red 70 %, green 20 %, blue 10 %), size (int, larger in group a), group (a privileged,
    60 %), label (favourable rate 0.85 in group a, 0.15 in group b: a parity gap of 0.7)."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.6, "a", "b")
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.7, 0.2, 0.1])
    size = np.clip(np.rint(rng.normal(30, 5, n) + 8 * (group == "a")), 0, 60).astype(np.int64)
    label = (rng.random(n) < np.where(group == "a", 0.85, 0.15)).astype(np.int64)
    frame = pd.DataFrame({"colour": colour, "size": size, "group": group, "label": label}).astype({"colour": "str", "group": "str"})
    return TabularDataset(name="toy", frame=frame, target="label", sensitive=["group"], privileged={"group": "a"},
                          categorical=["colour"], numeric=["size"], integer=["size"], target_labels={0: "no", 1: "yes"},
                          rules=["constructed for the conformance tests"], source="tests/test_generators.py")


TOY = toy()
DAG = {"group": [], "colour": [], "size": ["group", "colour"], "label": ["group", "colour", "size"]}
# name → (class, tiny settings, one bad setting)
SPECS = {
    "ours": (FairLatentDistillation, {"teacher_epochs": 2, "student_epochs": 2, "batch_size": 64, "seed": 0}, ("teacher_epochs", 0)),
    "fairdisco": (FairDiscoGenerator, {"epochs": 2, "batch_size": 64, "seed": 0, "device": "cpu"}, ("beta_exponent", 11)),
    "tabfairgan": (TabFairGAN, {"epochs": 2, "fair_epochs": 1, "seed": 0, "device": "cpu"}, ("fair_epochs", 5)),
    "decaf": (Decaf, {"epochs": 2, "dag": DAG, "seed": 0, "device": "cpu"}, ("fairness", "equal")),
    "fldgm": (FLDGM, {"epochs": 2, "teacher_epochs": 2, "teacher_batch_size": 64, "seed": 0, "device": "cpu"}, ("epochs", 0)),
    "original": (OriginalData, {"seed": 0}, ("seed", -1)),
    "tabfairgdt": (TabFairGDT, {"lamda": 0.5, "seed": 0}, ("lamda", 2.0)),
}
NAMES = [pytest.param(name, marks=pytest.mark.skipif(name == "tabfairgdt" and not HAS_TABFAIRGDT, reason="tabfairgdt not installed"))
         for name in SPECS]
_FITTED: dict[str, object] = {}


def make(name: str, **changes):
    cls, settings, _ = SPECS[name]
    return cls(**{**settings, **changes})


def fit(model, dataset: TabularDataset = TOY):
    return model.fit(dataset.frame, dataset=dataset, sensitive="group")


def fitted(name: str):
    """One fitted model per generator, shared by the tests of this module."""
    if name not in _FITTED:
        _FITTED[name] = fit(make(name))
    return _FITTED[name]


def use(monkeypatch, baseline: str, **values) -> None:
    """Replace hyper-parameters of ``baseline`` for one test (a faster schedule, never another method)."""
    for key, value in values.items():
        monkeypatch.setitem(hp.HYPERPARAMETERS[baseline], key, hp.Setting(value, "test schedule"))


def signed_gap(records: pd.DataFrame) -> float:
    """P(label = 1 | group a) − P(label = 1 | group b): the privileged group's advantage."""
    rates = records.groupby("group")["label"].mean()
    return float(rates.get("a", np.nan) - rates.get("b", np.nan))


def marginal_distance(records: pd.DataFrame, frame: pd.DataFrame = TOY.frame) -> float:
    """Total variation of the colour marginal + |mean size difference| in standard deviations."""
    p = frame["colour"].value_counts(normalize=True)
    q = records["colour"].value_counts(normalize=True).reindex(p.index, fill_value=0.0)
    return 0.5 * float((p - q).abs().sum()) + abs(records["size"].mean() - frame["size"].mean()) / frame["size"].std()


# ---------------------------------------------------------------------------------------------- the protocol
@pytest.mark.parametrize("name", NAMES)
def test_init_stores_settings_only(name):
    cls, settings, _ = SPECS[name]
    model = cls(**settings)
    assert isinstance(model, SyntheticGenerator)
    params = model.get_params()
    assert all(params[k] is v for k, v in settings.items())
    assert set(vars(model)) == set(params)  # nothing computed, nothing fitted
    assert not [a for a in vars(model) if a.endswith("_")]


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_fitted_state_ends_in_underscore(name):
    model = make(name)
    before = dict(vars(model))
    assert fit(model) is model
    added = set(vars(model)) - set(before)
    assert added and all(a.endswith("_") for a in added), sorted(added)
    assert all(vars(model)[k] is v for k, v in before.items())  # settings untouched
    assert np.isfinite(model.fit_seconds_) and model.fit_seconds_ >= 0
    assert model.dataset_ is TOY and model.sensitive_ == "group"


@pytest.mark.parametrize("name", NAMES)
def test_sample_has_the_data_schema(name):
    records = fitted(name).sample(57)
    frame = TOY.frame
    assert len(records) == 57 and list(records.columns) == list(frame.columns)
    assert records.dtypes.equals(frame.dtypes)
    for column in ("colour", "group"):
        assert set(records[column]) <= set(frame[column])
    assert set(records["label"]) <= {0, 1}
    assert records["size"].between(frame["size"].min(), frame["size"].max()).all()


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_reproducible_under_a_seed(name):
    model = fitted(name)
    pd.testing.assert_frame_equal(model.sample(40, seed=5), model.sample(40, seed=5))
    pd.testing.assert_frame_equal(model.sample(40), model.sample(40))
    assert not model.sample(40, seed=5).equals(model.sample(40, seed=6))
    pd.testing.assert_frame_equal(fit(make(name)).sample(40, seed=5), model.sample(40, seed=5))  # same settings, same model


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_call_raises_one_clear_error(name):
    model = make(name)
    with pytest.raises(NotFittedError, match=rf"{type(model).__name__} is not fitted: call fit\(frame, dataset=\.\.\., sensitive=\.\.\.\) first"):
        model.sample(5)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_raises_one_line_naming_parameter_value_and_allowed(name):
    _, _, (parameter, value) = SPECS[name]
    frame = TOY.frame
    cases = [
        (lambda: fit(make(name, **{parameter: value})), f"{parameter}={value!r}"),
        (lambda: make(name).fit(frame, dataset=TOY, sensitive="colour"), "sensitive='colour'"),
        (lambda: make(name).fit(frame.drop(columns=["label"]), dataset=TOY, sensitive="group"), "parameter frame="),
        (lambda: make(name).fit(frame, dataset="toys", sensitive="group"), "dataset='toys'"),
        (lambda: make(name, seed="0").fit(frame, dataset=TOY, sensitive="group"), "seed='0'"),
        (lambda: fitted(name).sample(0), "n=0"),
        (lambda: fitted(name).sample(5, seed=-1), "seed=-1"),
    ]
    for call, names in cases:
        with pytest.raises(ParameterError) as error:
            call()
        message = str(error.value)
        assert names in message and "allowed: " in message and "\n" not in message, message
    with pytest.raises(TypeError):
        make(name).fit(frame, TOY, "group")  # dataset and sensitive are keyword-only


# ---------------------------------------------------------------------------------------------- learning
def _reconstruction_error(model, seed: int = 7) -> float:
    """Mean |size − size of the source record| of ``sample(512, seed)``: the records reconstruct seeded
    draws of the training rows (the documented sampling of ours and FairDisco, under the ``source_group``
    construction)."""
    records = model.sample(512, seed=seed)
    rows = np.random.default_rng(seed).integers(0, len(TOY.frame), size=512)
    return float(np.abs(records["size"].to_numpy() - TOY.frame["size"].to_numpy()[rows]).mean())


@pytest.mark.parametrize("name", ["ours", "fairdisco"])
def test_tiny_fit_learns_reconstruction(name):
    epochs = {"ours": {"teacher_epochs": 12, "student_epochs": 12}, "fairdisco": {"epochs": 12}}[name]
    short = {key: 1 for key in epochs}
    # decoded as the source's own group: the records then reconstruct their sources (a random group moves size)
    trained = fit(make(name, construction="source_group", **epochs))
    untrained = fit(make(name, construction="source_group", **short))
    assert _reconstruction_error(trained) < _reconstruction_error(untrained) - 0.3
    history = trained.teacher_history_ if name == "ours" else trained.teacher_.history
    assert history["reconstruction"].iloc[-1] < history["reconstruction"].iloc[0]
    if name == "ours":
        assert trained.student_history_["loss"].iloc[-1] < trained.student_history_["loss"].iloc[0]


def test_tiny_fit_learns_tabfairgan(monkeypatch):
    use(monkeypatch, "tabfairgan", lr=5e-3, batch_size=64)
    trained = fit(make("tabfairgan", epochs=10, fair_epochs=0)).sample(2000)
    untrained = fit(make("tabfairgan", epochs=1, fair_epochs=0)).sample(2000)
    assert marginal_distance(trained) < marginal_distance(untrained) - 0.5


def test_tiny_fit_learns_decaf():
    history = fit(make("decaf", epochs=8)).history_
    assert history[-1]["critic_loss"] < 0.5 * history[0]["critic_loss"]


def test_tiny_fit_learns_fldgm(monkeypatch):
    """The diffusion stage learns the teacher's codes (four corners here: a teacher whose codes are
    N(0, I)-like leaves nothing to learn); its loss at fixed draws falls."""

    class CornerTeacher(FairDiscoGenerator):
        def latents(self):
            signs = np.sign(np.random.default_rng(0).normal(size=(len(self.frame_), self.teacher_.z_dim)))
            return (0.5 * signs).astype(np.float32)

    use(monkeypatch, "fldgm", lr=1e-3, batch_size=128)
    teacher = fit(CornerTeacher(epochs=1, batch_size=64, seed=0, device="cpu"))

    def loss(model):
        codes = torch.as_tensor(model.codes_)
        model.diffusion_.model.eval()
        with torch.no_grad():
            return np.mean([model.diffusion_.loss(codes, torch.Generator().manual_seed(k)).item() for k in range(3)])

    trained = fit(FLDGM(epochs=20, teacher=teacher, seed=0, device="cpu"))
    untrained = fit(FLDGM(epochs=1, teacher=teacher, seed=0, device="cpu"))
    assert loss(trained) < loss(untrained) - 0.02


def test_original_data_returns_the_training_rows():
    model = fitted("original")
    pd.testing.assert_frame_equal(model.sample(len(TOY.frame)), TOY.frame)


@pytest.mark.skipif(not HAS_TABFAIRGDT, reason="tabfairgdt not installed")
def test_tiny_fit_learns_tabfairgdt():
    records = fit(make("tabfairgdt", lamda=0.0)).sample(2000)
    assert marginal_distance(records) < 0.15
    assert signed_gap(records) > 0.2  # the label's dependence on the group is learned (data: 0.7)


# ---------------------------------------------------------------------------------------------- fairness
def test_tabfairgan_fairness_phase_favours_the_unprivileged_group(monkeypatch):
    """λ_f > 0 moves P(favourable | unprivileged) − P(favourable | privileged) up (the sign of its
    loss), so the privileged group's advantage in the samples falls below that of λ_f = 0."""
    use(monkeypatch, "tabfairgan", fair_lr=1e-2, batch_size=64)
    plain = fit(make("tabfairgan", epochs=10, fair_epochs=10, lambda_fair=0.0)).sample(2000)
    fair = fit(make("tabfairgan", epochs=10, fair_epochs=10, lambda_fair=100.0)).sample(2000)
    assert signed_gap(fair) < signed_gap(plain) - 0.3


@pytest.mark.skipif(not HAS_TABFAIRGDT, reason="tabfairgdt not installed")
def test_tabfairgdt_relabelling_reduces_the_parity_gap():
    plain = fit(make("tabfairgdt", lamda=0.0)).sample(2000)
    fair = fit(make("tabfairgdt", lamda=1.0)).sample(2000)
    assert abs(signed_gap(fair)) < abs(signed_gap(plain)) - 0.1


# ---------------------------------------------------------------------------------------------- estimator checks
@pytest.mark.parametrize("name", NAMES)
def test_clone_is_an_unfitted_copy_with_the_same_settings(name):
    from sklearn.base import clone

    model = fitted(name)
    copy = clone(model)
    assert type(copy) is type(model) and copy.get_params() == model.get_params()
    assert not [a for a in vars(copy) if a.endswith("_")]
    with pytest.raises(ParameterError, match="unknown setting"):
        copy.set_params(no_such_setting=1)


@pytest.mark.parametrize("name", NAMES)
def test_fitting_twice_gives_the_same_model(name):
    model = make(name)
    first = fit(model).sample(40, seed=3)
    pd.testing.assert_frame_equal(fit(model).sample(40, seed=3), first)


@pytest.mark.parametrize("name", NAMES)
def test_a_fitted_generator_survives_a_pickle_round_trip(name):
    import pickle

    model = fitted(name)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.sample(40, seed=4), model.sample(40, seed=4))
