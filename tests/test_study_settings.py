"""``fairnb.paper000.settings.StudySettings``: one typed settings object for paper 000's studies."""

import pytest

from fairnb.errors import ParameterError
from fairnb.paper000.settings import BOOK_CHOICES, StudySettings

CONFIG = {"dataset": "adult", "sensitive": "sex", "seed": 2, "repetitions": 3, "fairdisco_epochs": 600, "distill_epochs": 400,
          "max_rows": 5000, "batch_size": 2048, "device": "cpu", "profile": "default", "teacher_encoding": None,
          "positive_label": "unfavourable"}


def test_from_config_resolves_every_field_from_the_run():
    settings = StudySettings.from_config(CONFIG)
    assert settings.seeds == (2, 3, 4) and settings.teacher_epochs == 600 and settings.student_epochs == 400
    assert settings.encoding == "standard" and settings.positive_label == "unfavourable" and settings.other_label == "favourable"
    assert settings.beta_exponent == BOOK_CHOICES["beta_exponent"] and settings.construction == "random_group"
    assert StudySettings.from_config({**CONFIG, "profile": "paper"}).encoding == "binned"
    assert StudySettings.from_config(CONFIG, seeds=[7]).seeds == (7,)


def test_from_config_names_a_missing_key_and_a_bad_value():
    config = {k: v for k, v in CONFIG.items() if k != "max_rows"}
    with pytest.raises(ParameterError, match="max_rows"):
        StudySettings.from_config(config)
    with pytest.raises(ParameterError, match="no_such"):
        StudySettings.from_config(CONFIG, no_such=1)
    with pytest.raises(ParameterError, match="construction"):
        StudySettings.from_config({**CONFIG, "construction": "copy"})
    with pytest.raises(ParameterError, match="sensitive"):
        StudySettings.from_config({**CONFIG, "sensitive": "age_group"})


def test_a_page_without_students_has_no_student_budget_and_a_study_that_needs_one_refuses():
    settings = StudySettings.from_config({k: v for k, v in CONFIG.items() if k != "distill_epochs"})
    assert settings.student_epochs is None
    with pytest.raises(ParameterError, match="distill_epochs"):
        settings.require("student_epochs")
