"""The one reader of results records (``fairnb.records``): one coding rule, one per-seed reader, a tidy table."""

import json

import pytest

from fairnb import records

RECORD = {"run": "fair_synthesis-adult-sex", "template": "notebooks/paper000/03_fair_synthesis.md", "profile": "smoke",
          "status": "ok", "schema": 2,
          "resolved": {"dataset": "adult", "sensitive": "sex", "seed": 3, "positive_label": "favourable"},
          "parameters": {"dataset": "adult", "sensitive": "sex"},
          "metrics": {"l1/dpr": {"mean": 0.5, "std": 0.1, "n": 2, "values": [0.4, 0.6]},
                      "l1/unfavourable_dpr": {"mean": 0.9, "std": 0.0, "n": 2, "values": [0.9, 0.9]},
                      "l1/split_eor": {"mean": 0.3, "std": 0.0, "n": 2, "values": [0.3, None]},
                      "l1/coverage": {"mean": 0.7, "std": 0.0, "n": 2, "values": [0.7, 0.7]},
                      "lambda_sweep/10/accuracy": {"mean": 0.8, "std": 0.0, "n": 1}}}


def test_plain_coding_is_one_rule():
    assert records.plain_coding(RECORD) == "favourable"                                   # resolved parameters
    old = {"metrics": {"l1/dpr": {}, "l1/favourable_dpr": {}}}
    assert records.plain_coding(old) == "unfavourable"                                     # the other coding's prefix
    assert records.plain_coding({"metrics": {"l1/dpr": {}}}) is None                        # the record does not say
    assert records.plain_coding({"parameters": {"positive_label": "unfavourable"}, "metrics": {}}) == "unfavourable"


def test_per_seed_values():
    assert records.per_seed({"values": [0.1, float("nan"), None, "x"]}) == [0.1, None, None, None]
    assert records.per_seed({"mean": 0.5, "n": 1}) == [0.5]
    assert records.per_seed({"mean": 0.5, "n": 3}) == [] and records.per_seed(None) == []


@pytest.mark.parametrize("name,plain,expected", [
    ("l1/dpr", "favourable", ("l1", "favourable", "synthetic_real", "dpr")),
    ("l1/unfavourable_dpr", "favourable", ("l1", "unfavourable", "synthetic_real", "dpr")),
    ("original/split_eor", "unfavourable", ("original", "unfavourable", "synthetic_split", "eor")),
    ("l1/coverage", "favourable", ("l1", "", "synthetic_real", "coverage")),
    ("l1/split_density", "favourable", ("l1", "", "synthetic_real", "split_density")),
    ("lambda_sweep/10/accuracy", None, ("lambda_sweep/10", "", "synthetic_real", "accuracy")),
])
def test_names_are_parsed_into_method_coding_protocol_metric(name, plain, expected):
    assert records.parse_name(name, plain) == expected


def test_tidy_table_and_the_reader(tmp_path):
    (tmp_path / "fair_synthesis-adult-sex.json").write_text(json.dumps(RECORD))
    frame = records.metrics_frame("fair_synthesis", tmp_path)
    assert list(frame.columns) == records.TIDY_COLUMNS
    row = frame[(frame.method == "l1") & (frame.metric == "dpr") & (frame.coding == "favourable")]
    assert row.seed.tolist() == [3, 4] and row.value.tolist() == [0.4, 0.6] and set(row.template) == {"fair_synthesis"}
    split = frame[(frame.protocol == "synthetic_split")]
    assert split.value.tolist()[0] == 0.3 and split.value.isna().tolist()[1]
    assert len(frame[frame.method == "lambda_sweep/10"]) == 1


def test_a_run_whose_headline_protocol_is_the_split_reads_its_plain_names_as_the_split():
    assert records.parse_name("fldgm/dpr", "favourable", "synthetic_split") == ("fldgm", "favourable", "synthetic_split", "dpr")
    assert records.parse_name("fldgm/real_dpr", "favourable", "synthetic_split") == ("fldgm", "favourable", "synthetic_real", "dpr")
    record = {**RECORD, "resolved": {**RECORD["resolved"], "protocol": "synthetic_split"}}
    frame = records.tidy([record])
    assert set(frame[(frame.metric == "dpr") & (frame.coding == "favourable")].protocol) == {"synthetic_split"}
