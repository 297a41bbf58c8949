"""Paper 000 on images builds its generated images as its tabular records are built: the decoder's group is drawn
independently of the source image (``fairnb.paper000.images.decoding_groups``), the source's own group is the
ablation. Seconds: the networks are replaced by stand-ins whose decoder paints the group it is given."""

from __future__ import annotations

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.paper000 import images


def test_random_group_is_independent_of_the_source_and_keeps_the_shares():
    sensitive = np.r_[np.zeros(3000, dtype=np.int64), np.ones(1000, dtype=np.int64)]
    drawn = images.decoding_groups(sensitive, "random_group", seed=0)
    assert drawn.shape == sensitive.shape and set(np.unique(drawn)) <= {0, 1}
    assert abs(drawn.mean() - 0.25) < 0.03                     # the data's shares
    assert abs(drawn[sensitive == 1].mean() - drawn[sensitive == 0].mean()) < 0.05  # not the source's group
    np.testing.assert_array_equal(drawn, images.decoding_groups(sensitive, "random_group", seed=0))
    assert not np.array_equal(drawn, images.decoding_groups(sensitive, "random_group", seed=1))
    np.testing.assert_array_equal(images.decoding_groups(sensitive, "source_group", seed=0), sensitive)
    with pytest.raises(ParameterError, match="construction"):
        images.decoding_groups(sensitive, "own", seed=0)


class _PaintsTheGroup:
    """A fitted stand-in for ``ImageFairDistillation``: its 'image' is the decoder's group, nothing else."""

    timings: dict = {}

    def __init__(self, *args, **kwargs):
        pass

    def fit(self, x, s):
        return self

    def generate(self, x, s, seed=None):
        return np.asarray(s, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), dtype=np.float32)


def test_the_headline_images_carry_no_group_of_their_source_and_the_ablation_does(monkeypatch):
    """With a decoder that paints its group, a classifier of the images can read the source's group (a proxy of
    the label on biased data) from the ablation's images only: the headline's predictions barely depend on the
    group, the ablation's follow it."""
    from fairnb.metrics import image_scores
    import fairnb.paper000.conv as conv

    rng = np.random.default_rng(0)
    n = 2000
    sensitive = rng.integers(0, 2, n)
    target = np.where(rng.random(n) < 0.9, sensitive, 1 - sensitive)  # the group predicts the label 90 % of the time
    from types import SimpleNamespace

    source = SimpleNamespace(sensitive_labels={0: "red", 1: "green"}, target_labels={0: "below 5", 1: "5 or more"},
                             target_name="digit", sensitive_name="colour")
    data = images.ImageData(name="colour_mnist", source=source, x_train=np.zeros((n, 1, 2, 2), np.float32), target_train=target,
                            sensitive_train=sensitive, x_test=np.zeros((n, 1, 2, 2), np.float32), target_test=target,
                            sensitive_test=sensitive)
    monkeypatch.setattr(conv, "ImageFairDistillation", _PaintsTheGroup)
    seen = []

    def train_classifier(x, y, n_classes, epochs, **kwargs):
        colour = x[:, 0, 0, 0]
        seen.append(colour)
        rate = {c: float(y[colour == c].mean()) if (colour == c).any() else 0.5 for c in (0.0, 1.0)}
        return rate  # the classifier: P(label 1 | painted colour)

    monkeypatch.setattr(image_scores, "train_classifier", train_classifier)
    monkeypatch.setattr(image_scores, "predict", lambda rate, x, device: np.array([rate[0.0], rate[1.0]]))
    monkeypatch.setattr(image_scores, "downstream_scores", lambda name, y, rates, s: {"spread": float(abs(rates[1] - rates[0]))})
    monkeypatch.setattr(images, "latent_dependence", lambda model, data, seed=0: {})
    repetition = images.run_repetition(data, seed=0, settings=images.ImageSettings(), keep_images=False)
    headline, ablation = seen
    assert abs(np.corrcoef(headline, sensitive)[0, 1]) < 0.1 and np.array_equal(ablation, sensitive)
    assert repetition.scores["spread"] < 0.1 < 0.5 < repetition.scores[f"{images.ABLATION}/spread"]
