"""Density and coverage (Naeem et al. 2020): hand-worked cases, NumPy reference, input checks."""

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.metrics import density_coverage, density_coverage_numpy


def test_hand_worked_one_dimensional_case():
    # real points 0, 1, 2, 10 with k = 1: radii (nearest other real point) 1, 1, 1, 8
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    # fake 0.5 lies within 1 of real 0 and 1 (2 hits); fake 9 lies within 8 of real 10 only (1 hit);
    # fake 30 lies in no ball
    fake = np.array([[0.5], [9.0], [30.0]])
    out = density_coverage(real, fake, k=1)
    assert out["density"] == pytest.approx(3 / (1 * 3))
    # covered: real 0 (0.5 < 1), real 1 (0.5 < 1), real 10 (1 < 8); real 2 is 1.5 from 0.5: not < 1
    assert out["coverage"] == pytest.approx(3 / 4)


def test_boundary_is_strict():
    real = np.array([[0.0], [1.0], [20.0], [21.0]])  # every radius (k = 1) is 1
    fake = np.array([[2.0]])  # exactly on the radius 1 of real 1: not inside
    assert density_coverage(real, fake, k=1) == {"density": 0.0, "coverage": 0.0}


def test_identical_sets_cover_everything():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 3))
    out = density_coverage(real, real.copy(), k=5)
    assert out["coverage"] == 1.0
    assert out["density"] == pytest.approx(density_coverage_numpy(real, real, 5)["density"])


@pytest.mark.parametrize("chunk", [7, 64, 4096])
def test_matches_numpy_reference_on_tied_tabular_data(chunk):
    rng = np.random.default_rng(1)
    # one-hot + min-max like encoded records: many exact ties between distances
    onehot = np.eye(4)[rng.integers(0, 4, size=(300,))]
    real = np.concatenate([onehot, rng.integers(0, 5, size=(300, 1)) / 4], axis=1)
    fake = np.concatenate([np.eye(4)[rng.integers(0, 4, size=(250,))], rng.integers(0, 5, size=(250, 1)) / 4], axis=1)
    assert density_coverage(real, fake, k=5, chunk=chunk) == density_coverage_numpy(real, fake, k=5)


def test_far_away_fakes_score_zero_and_density_can_exceed_one():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(100, 2))
    assert density_coverage(real, real + 100.0, k=3) == {"density": 0.0, "coverage": 0.0}
    crowded = np.zeros((50, 2))  # all at the centre of the cloud, inside many balls
    assert density_coverage(real, crowded, k=3)["density"] > 1.0


def test_bad_inputs_raise():
    real = np.zeros((10, 2))
    with pytest.raises(ParameterError, match="k"):
        density_coverage(real, real, k=10)
    with pytest.raises(ParameterError, match="synthetic"):
        density_coverage(real, np.zeros((5, 3)))
    with pytest.raises(ParameterError, match="finite"):
        density_coverage(real, np.full((5, 2), np.nan))


def test_tabular_reading_uses_the_rows_it_is_given():
    import fairnb.data
    from fairnb.metrics.density import tabular_density_coverage

    frame = fairnb.data.load("german").frame
    real, held_out = frame.iloc[:300], frame.iloc[300:600]
    same = tabular_density_coverage(real, real, "german", max_rows=300, seed=0)
    other = tabular_density_coverage(held_out, real, "german", max_rows=300, seed=0)
    assert same["coverage"] == 1.0  # every real ball holds its own record
    assert other["coverage"] < same["coverage"]  # held-out rows: no record sits on them
    assert tabular_density_coverage(held_out, real, "german", max_rows=300, seed=0) == other  # seeded
    with pytest.raises(ParameterError, match="max_rows"):
        tabular_density_coverage(real, real, "german", max_rows=3)
