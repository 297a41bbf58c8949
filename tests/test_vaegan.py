"""The paper-002 translator and classifier: loss terms by hand, learning on a small problem, errors."""

import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from fairnb.errors import ParameterError
from fairnb.nn.losses import gaussian_kl as kl_standard_normal, gradient_penalty
from fairnb.paper002.classifier import ClassifierSettings, ClassifierTraining, FairClassifier
from fairnb.paper002.translator import (FairTranslator, TranslatorSettings, critic_loss, domain_loss,
                                        generator_adversarial_loss, l1_reconstruction, target_domains)


def test_kl_by_hand():
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, math.log(2.0)]])
    # row 1: 0; row 2: 0.5*1 + 0.5*(2 - 1 - ln 2); mean over rows
    expected = (0.5 + 0.5 * (1 - math.log(2.0))) / 2
    assert kl_standard_normal(mu, logvar).item() == pytest.approx(expected, rel=1e-6)


def test_l1_by_hand():
    x = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    assert l1_reconstruction(x, torch.zeros(2, 2)).item() == pytest.approx(0.5)


def test_wasserstein_terms_by_hand():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 0.0])
    assert critic_loss(real, fake).item() == pytest.approx(0.5 - 3.0)
    assert generator_adversarial_loss(fake).item() == pytest.approx(-0.5)


def test_domain_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0]])
    # two heads at p = 1/2: ln 2 each, summed
    assert domain_loss(logits, torch.tensor([[1, 0]])).item() == pytest.approx(2 * math.log(2.0))
    confident = torch.tensor([[20.0, -20.0]])
    assert domain_loss(confident, torch.tensor([[1, 0]])).item() < 1e-6


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w·x has gradient w everywhere: penalty = (‖w‖ - 1)²
    w = torch.tensor([3.0, 4.0])

    class Linear(torch.nn.Module):
        def forward(self, x):
            return x @ w

    gp = gradient_penalty(Linear(), torch.randn(8, 2), torch.randn(8, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_target_domains_follow_eq5():
    a = torch.tensor([0, 1] * 500)
    y = torch.tensor([0, 0, 1, 1] * 250)
    target = target_domains(a, y, torch.Generator().manual_seed(0))
    assert torch.equal(target[:, 0], (1 - a).float())          # a always flipped
    flipped = (target[:, 1] != y.float()).float().mean().item()
    assert 0.4 < flipped < 0.6                                  # y flipped with probability 1/2


def _toy(n=400, d=12, seed=0):
    rng = np.random.default_rng(seed)
    a, y = rng.integers(0, 2, n), rng.integers(0, 2, n)
    x = rng.random((n, d)) * 0.5
    x[:, :3] += 0.4 * a[:, None]
    x[:, -3:] += 0.4 * y[:, None]
    return np.clip(x, 0, 1).astype(np.float32), a, y


def test_translator_learns_requested_domains():
    x, a, y = _toy()
    settings = TranslatorSettings(epochs=30, hidden=64, lr=2e-3, n_critic=2, batch_size=128)
    translator = FairTranslator(settings, seed=0).fit(x, y, sensitive_features=a)
    agreement = translator.domain_agreement(x, seed=1)
    # D's heads read the requested group and label from translations far better than chance
    assert agreement["a"] > 0.75 and agreement["y"] > 0.75
    assert set(translator.history_.columns) >= {"L_prior", "L_like", "L_rec", "L_dis", "L_trns", "gradient_penalty"}
    # outputs stay in the scaled feature range; every domain gets a translation
    translations = translator.translate_all(x[:5])
    assert len(translations) == 4 and all(v.shape == (5, 12) and v.min() >= 0 and v.max() <= 1 for v in translations.values())
    sample, sa, sy = translator.sample(10, seed=0)
    assert sample.shape == (40, 12) and np.bincount(sa * 2 + sy).tolist() == [10, 10, 10, 10]


def test_translator_is_seeded():
    x, a, y = _toy(n=120)
    settings = TranslatorSettings(epochs=2, hidden=16, batch_size=64)
    one = FairTranslator(settings, seed=3).fit(x, y, sensitive_features=a).translate(x[:4], target_sensitive=a[:4], target_y=y[:4])
    two = FairTranslator(settings, seed=3).fit(x, y, sensitive_features=a).translate(x[:4], target_sensitive=a[:4], target_y=y[:4])
    np.testing.assert_array_equal(one, two)


def test_classifier_pretrain_finetune_and_sweep_ratio():
    x, a, y = _toy(n=300)
    translator = FairTranslator(TranslatorSettings(epochs=2, hidden=16), seed=0).fit(x, y, sensitive_features=a)
    clf = FairClassifier(ClassifierSettings(epochs=3, hidden=16, dropout=0.1), translator=translator, seed=0)
    clf.fit(x, y, sensitive_features=a)
    assert clf.translator_ is translator and clf.pretrained_ is not None
    for ratio in (0.0, 0.5, 1.0):
        pred = clf.with_finetuning(x, y, sensitive_features=a, real_ratio=ratio).predict(x, sensitive_features=a)
        assert pred.shape == (300,) and set(np.unique(pred)) <= {0, 1}
    # on real data only, the plain classifier learns the label shift in the last columns
    plain = ClassifierTraining(ClassifierSettings(epochs=20, hidden=32, dropout=0.0), seed=0).fit_plain(x, y, (x, y))
    assert (plain.predict(x) == y).mean() > 0.8


@pytest.mark.parametrize("kwargs,name", [({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"), ({"lambda_rec": -1.0}, "lambda_rec"),
                                         ({"n_critic": 0}, "n_critic")])
def test_bad_translator_settings(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        TranslatorSettings(**kwargs)


def test_bad_inputs_raise_before_training():
    x, a, y = _toy(n=20)
    with pytest.raises(ParameterError, match="sensitive_features"):
        FairTranslator(TranslatorSettings(epochs=1)).fit(x, y, sensitive_features=a + 2)
    with pytest.raises(ParameterError, match="parameter y="):
        FairTranslator(TranslatorSettings(epochs=1)).fit(x[:5], y, sensitive_features=a[:5])
    with pytest.raises(ParameterError, match="real_ratio"):
        ClassifierSettings(real_ratio=1.5)
    with pytest.raises(ParameterError, match="balance"):
        ClassifierSettings(balance="oversample")
    with pytest.raises(ParameterError, match="translator"):
        ClassifierTraining(ClassifierSettings()).finetune(x, y, sensitive_features=a, translator=None, validation=(x, y))
    with pytest.raises(NotFittedError, match="not fitted"):
        FairTranslator().translate(x, target_sensitive=a, target_y=y)


def test_balanced_rows_by_hand():
    from fairnb.paper002.classifier import balanced_rows

    # cells (a, y): (0, 0) ×1, (0, 1) ×2, (1, 0) ×3, (1, 1) ×6
    a = np.array([0] * 3 + [1] * 9)
    y = np.array([0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    cells = lambda rows: np.bincount(2 * a[rows] + y[rows], minlength=4).tolist()
    up = balanced_rows(y, a, balance="upsample", seed=0)
    assert cells(up) == [6, 6, 6, 6] and set(range(12)) <= set(up.tolist())    # every row kept, small cells redrawn
    down = balanced_rows(y, a, balance="downsample", seed=0)
    assert cells(down) == [1, 1, 1, 1] and len(set(down.tolist())) == 4          # without replacement
    np.testing.assert_array_equal(balanced_rows(y, a, balance="none", seed=0), np.arange(12))
    np.testing.assert_array_equal(up, balanced_rows(y, a, balance="upsample", seed=0))


def test_translator_step_budget_counts_batches():
    x, a, y = _toy(n=300)
    # 300 rows, batches of 128: 3 batches per epoch; 7 steps = 2 full epochs and one batch of a third
    translator = FairTranslator(TranslatorSettings(epochs=50, steps=7, hidden=8), seed=0).fit(x, y, sensitive_features=a)
    assert translator.steps_ == 7 and len(translator.history_) == 3
    with pytest.raises(ParameterError, match="steps"):
        TranslatorSettings(steps=-1)


def test_finetuning_arms_are_independent_of_what_ran_before():
    x, a, y = _toy(n=200)
    settings = ClassifierSettings(epochs=2, hidden=8, dropout=0.5)
    ours = FairClassifier(settings, translator_settings=TranslatorSettings(epochs=1, hidden=8), seed=1).fit(x, y, sensitive_features=a)
    first = ours.with_finetuning(x, y, sensitive_features=a, balance="downsample").predict_proba(x, sensitive_features=a)
    ours.with_finetuning(x, y, sensitive_features=a, real_ratio=0.2)          # another arm in between
    again = ours.with_finetuning(x, y, sensitive_features=a, balance="downsample").predict_proba(x, sensitive_features=a)
    np.testing.assert_array_equal(first, again)
    with pytest.raises(ParameterError, match="changes"):
        ours.with_finetuning(x, y, sensitive_features=a, ratio=0.3)
