"""The departures page's measurements (``fairnb.paper000.departures``) on a tiny COMPAS run."""

import numpy as np
import pytest

from fairnb.errors import ParameterError
from fairnb.paper000 import departures
from fairnb.paper000.settings import StudySettings


@pytest.fixture(scope="module")
def effects():
    settings = StudySettings(dataset="compas", sensitive="sex", seeds=(0, 1), teacher_epochs=2, student_epochs=2, max_rows=300,
                             batch_size=128, device="cpu")
    return departures.departures_study(settings, departures=("construction", "label_coding", "protocol", "feature_set"))


def test_each_departure_is_a_paired_difference_under_both_codings(effects):
    assert set(effects.departure) == {"construction", "label_coding", "protocol", "feature_set"}
    assert set(effects.coding) == {"favourable", "unfavourable"}
    assert len(effects) == 4 * 2 * 2  # departures × codings × seeds
    for metric in departures.METRICS:
        assert np.allclose(effects[f"difference_{metric}"], effects[f"alternative_{metric}"] - effects[f"book_{metric}"])
    # the book's side is one row per (seed, coding), whatever the departure
    assert (effects.groupby(["seed", "coding"])["book_dpr"].nunique() == 1).all()
    # the label coding reads the same predictions the other way: its alternative is the other coding's book value
    coding = effects[effects.departure == "label_coding"].set_index(["seed", "coding"])
    assert coding.loc[(0, "favourable"), "alternative_dpr"] == pytest.approx(coding.loc[(0, "unfavourable"), "book_dpr"])
    assert coding.loc[(0, "favourable"), "alternative_accuracy"] == pytest.approx(coding.loc[(0, "favourable"), "book_accuracy"])


def test_effects_table_and_record_values(effects):
    table = departures.effects_table(effects, coding="favourable")
    assert len(table) == 4 and {"Δ DPR", "Δ EOR", "Δ accuracy", "why the book's choice"} <= set(table.columns)
    values = departures.report_values(effects)
    assert len(values["book/favourable_dpr"]) == 2 and len(values["construction/unfavourable_eor"]) == 2
    with pytest.raises(ParameterError, match="coding"):
        departures.effects_table(effects, coding="positive")


def test_unknown_departure_is_refused_before_any_training():
    with pytest.raises(ParameterError, match="departures"):
        settings = StudySettings(dataset="compas", sensitive="sex", seeds=(0,), teacher_epochs=1, student_epochs=1, max_rows=100,
                                 batch_size=64, device="cpu")
        departures.departures_study(settings, departures=("epochs",))
