"""Loaders, encoder and splits on the real vendored data (and MEPS / CelebA error paths)."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

import fairnb.data as data
from fairnb.data import tabular
from fairnb.errors import DataIntegrityError, DataNotFoundError, ParameterError


@pytest.mark.parametrize("name, rows, target, sensitive", [
    ("adult", 45_222, "income", ["sex", "race"]),
    ("compas", 6_167, "no_recid", ["sex", "race"]),
    ("german", 1_000, "credit", ["sex", "age_group"]),
])
def test_tabular_loaders_row_counts_columns_no_missing(name, rows, target, sensitive):
    dataset = data.load(name)
    assert len(dataset.frame) == rows
    assert dataset.target == target and dataset.sensitive == sensitive
    assert not dataset.frame.isna().any().any()
    assert set(dataset.frame[target].unique()) == {0, 1}
    for column in sensitive:
        assert dataset.privileged[column] in set(dataset.frame[column])
    assert set(dataset.features).isdisjoint(sensitive + [target])
    assert set(dataset.features + sensitive + [target]) <= set(dataset.frame.columns)


def test_adult_follows_aif360_rules():
    adult = data.load("adult")
    assert "fnlwgt" not in adult.frame.columns
    # Known base rates of the cleaned data: 24.8 % earn >50K; 11.4 % of women, 31.2 % of men.
    assert adult.labels().mean() == pytest.approx(0.2478, abs=1e-3)
    female = adult.frame["sex"] == "Female"
    assert adult.labels()[female.to_numpy()].mean() == pytest.approx(0.1136, abs=1e-3)


def test_compas_favourable_label_is_no_recidivism():
    compas = data.load("compas")
    raw = pd.read_csv(tabular.vendored("compas/compas-scores-two-years.csv.gz"))
    assert compas.target_labels[1] == "did not re-offend"
    assert compas.labels().mean() == pytest.approx(1 - raw["two_year_recid"].mean(), abs=0.03)


def test_german_sex_from_personal_status():
    german = data.load("german")
    assert german.frame["sex"].value_counts().to_dict() == {"male": 690, "female": 310}
    assert german.labels().sum() == 700


@pytest.mark.parametrize("name", ["adult", "compas", "german"])
def test_encoder_round_trip_is_exact(name):
    dataset = data.load(name)
    encoder = data.encoder_for(dataset).fit(dataset.frame)
    encoded = encoder.transform(dataset.frame)
    assert encoded.shape == (len(dataset.frame), encoder.width)
    back = encoder.inverse_transform(encoded)
    for column in dataset.features:
        assert (back[column].to_numpy() == dataset.frame[column].to_numpy()).all(), column


def test_encoder_inverse_gives_valid_records_for_arbitrary_input():
    dataset = data.load("german")
    encoder = data.encoder_for(dataset).fit(dataset.frame)
    noise = np.random.default_rng(0).normal(scale=5.0, size=(200, encoder.width))
    records = encoder.inverse_transform(noise)
    for column in dataset.categorical:
        assert set(records[column]) <= set(dataset.frame[column])
    for column in dataset.numeric:
        assert records[column].between(dataset.frame[column].min(), dataset.frame[column].max()).all()
        assert records[column].dtype == np.int64


def test_encoder_errors_are_clear():
    dataset = data.load("german")
    encoder = data.encoder_for(dataset).fit(dataset.frame)
    with pytest.raises(ParameterError, match="encoded.*shape"):
        encoder.inverse_transform(np.zeros((3, encoder.width + 1)))
    bad = dataset.frame.head(3).copy()
    bad["purpose"] = "spaceship"
    with pytest.raises(ParameterError, match="purpose='spaceship'.*unknown category"):
        encoder.transform(bad)


@pytest.mark.parametrize("fractions", [data.PAPER_000, data.PAPER_002])
def test_splits_deterministic_stratified_partition(fractions):
    adult = data.load("adult")
    first = data.split(adult, "sex", fractions, seed=3)
    again = data.split(adult, "sex", fractions, seed=3)
    other = data.split(adult, "sex", fractions, seed=4)
    assert all((a == b).all() for a, b in zip(first, again))
    assert not (first[0] == other[0][: len(first[0])]).all()
    joined = np.sort(np.concatenate(first))
    assert (joined == np.arange(len(adult.frame))).all()
    strata = 2 * adult.labels() + adult.is_privileged("sex")
    overall = np.bincount(strata) / len(strata)
    for part, fraction in zip(first, fractions):
        assert len(part) / len(strata) == pytest.approx(fraction, abs=1e-3)
        assert np.bincount(strata[part], minlength=4) / len(part) == pytest.approx(overall, abs=2e-3)


def test_bad_fractions_and_unknown_dataset():
    with pytest.raises(ParameterError, match="fractions"):
        data.stratified_split(np.zeros(10), (0.5, 0.6))
    with pytest.raises(ParameterError, match="dataset='adultt'.*one of adult, compas"):
        data.load("adultt")
    with pytest.raises(ParameterError, match="sensitive='age'.*sex, race"):
        data.load("adult").check_sensitive("age")


def test_checksum_mismatch_is_detected(tmp_path, monkeypatch):
    folder = tmp_path / "german"
    folder.mkdir()
    with gzip.open(folder / "german.data.gz", "wt") as handle:
        handle.write("corrupt\n")
    shutil.copy(tabular.DATA_DIR / "SHA256SUMS", tmp_path / "SHA256SUMS")
    monkeypatch.setattr(tabular, "DATA_DIR", tmp_path)
    tabular.vendored.cache_clear()
    tabular._expected_sums.cache_clear()
    try:
        with pytest.raises(DataIntegrityError, match="sha256"):
            tabular.vendored("german/german.data.gz")
    finally:
        tabular.vendored.cache_clear()
        tabular._expected_sums.cache_clear()


def test_vendored_archive_with_flipped_bytes_names_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "german"
    folder.mkdir()
    damaged = bytearray((tabular.DATA_DIR / "german" / "german.data.gz").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte: gzip would fail with a CRC or zlib error
    (folder / "german.data.gz").write_bytes(bytes(damaged))
    shutil.copy(tabular.DATA_DIR / "SHA256SUMS", tmp_path / "SHA256SUMS")
    monkeypatch.setattr(tabular, "DATA_DIR", tmp_path)
    tabular.vendored.cache_clear()
    tabular._expected_sums.cache_clear()
    try:
        with pytest.raises(DataIntegrityError, match=rf"{folder / 'german.data.gz'}: sha256 .* the file is damaged"):
            tabular.vendored("german/german.data.gz")
        monkeypatch.delitem(tabular.COMPRESSED_SHA256, "german/german.data.gz")  # no stored digest: decompressing fails
        tabular.vendored.cache_clear()
        with pytest.raises(DataIntegrityError, match=rf"{folder / 'german.data.gz'}: cannot be read .* damaged"):
            tabular.vendored("german/german.data.gz")
    finally:
        tabular.vendored.cache_clear()
        tabular._expected_sums.cache_clear()


def test_recorded_digests_match_the_vendored_files():
    sums = tabular._expected_sums()
    assert set(tabular.COMPRESSED_SHA256) == set(sums)
    for relative, digest in tabular.COMPRESSED_SHA256.items():
        path = tabular.DATA_DIR / relative
        assert tabular.file_sha256(path) == digest, relative
        assert tabular.sha256_of(path) == sums[relative], relative


def test_meps_missing_file_names_file_and_source(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"h181\.csv.*HC-181"):
        tabular.load_meps(tmp_path)


def test_meps_fixture_follows_aif360_rules(meps_dir, monkeypatch):
    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "397")  # the fixture is a sample: 397 rows of panel 19 pass the rules
    meps = tabular.load_meps(meps_dir)
    assert len(meps.frame) == 397  # three rows break one rule each
    assert set(meps.frame["RACE"]) <= {"White", "Non-White"}
    assert set(meps.frame["UTILIZATION"]) <= {0, 1}
    assert not meps.frame.isna().any().any()
    raw = pd.read_csv(meps_dir / "h181.csv").iloc[3:]
    visits = raw[["OBTOTV15", "OPTOTV15", "ERTOT15", "IPNGTD15", "HHTOTD15"]].sum(axis=1)
    assert meps.frame["UTILIZATION"].to_numpy().tolist() == (visits >= 10).astype(int).tolist()
    encoder = data.encoder_for(meps).fit(meps.frame)
    back = encoder.inverse_transform(encoder.transform(meps.frame))
    assert (back["AGE"] == meps.frame["AGE"]).all()


def test_meps_corrupt_csv_names_missing_columns(tmp_path):
    (tmp_path / "h181.csv").write_text("VAR1,VAR2,VAR3\n1,2,3\n")
    with pytest.raises(DataIntegrityError, match="schema check failed: not MEPS HC-181: columns missing"):
        tabular.load_meps(tmp_path)


def _meps_text(tmp_path) -> str:
    from conftest import write_meps_fixture

    return write_meps_fixture(tmp_path / "original").read_text()


def test_meps_truncated_or_header_only_file_is_refused_naming_the_check(tmp_path, monkeypatch):
    text = _meps_text(tmp_path)
    path = tmp_path / "h181.csv"
    path.write_text(text[: len(text) // 2])  # cut in the middle of a row: used to load half the rows silently
    with pytest.raises(DataIntegrityError, match=r"h181\.csv: MEPS complete check failed: .*cut in the middle of a row"):
        tabular.load_meps(tmp_path)
    path.write_text(text.split("\n", 1)[0] + "\n")  # header only: used to load as 0 rows
    with pytest.raises(DataIntegrityError, match=r"h181\.csv: MEPS rows check failed: the file has a header but no data rows"):
        tabular.load_meps(tmp_path)
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[:301]))  # cut at a row boundary: only the expected row count tells
    with pytest.raises(DataIntegrityError, match=r"MEPS row count check failed: 297 rows of panel 19 after the rules, expected 15,830"):
        tabular.load_meps(tmp_path)
    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "397")
    with pytest.raises(DataIntegrityError, match="297 rows of panel 19 after the rules, expected 397"):
        tabular.load_meps(tmp_path)
    assert len(tabular.load_meps(tmp_path, expected_rows=None).frame) == 297  # a deliberate sample
    path.write_text(text)
    assert len(tabular.load_meps(tmp_path).frame) == 397
    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "lots")
    with pytest.raises(ParameterError, match="FAIRNB_MEPS_ROWS='lots'"):
        tabular.load_meps(tmp_path)


@pytest.mark.parametrize("content, check, detail", [
    (b"", "file", "empty"),
    (bytes(range(256)) * 40, "format", "binary content"),
    (gzip.compress(b"PANEL,REGION53\n19,1\n", mtime=0), "format", "gzip-compressed"),
    (b"\xff\xfe\xfa garbage \xc3\x28\n", "format", "not a CSV file"),
])
def test_meps_garbage_or_empty_file_is_a_data_error_naming_the_file(tmp_path, content, check, detail):
    (tmp_path / "h181.csv").write_bytes(content)
    with pytest.raises(DataIntegrityError, match=rf"h181\.csv: MEPS {check} check failed: .*{detail}"):
        tabular.load_meps(tmp_path)


def test_meps_ill_typed_or_ragged_file_is_a_data_error_naming_the_column(tmp_path):
    import io

    frame = pd.read_csv(io.StringIO(_meps_text(tmp_path)))
    path = tmp_path / "h181.csv"
    frame.astype({"AGE53X": object}).assign(AGE53X=lambda f: f["AGE53X"].where(f.index != 5, "forty")).to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match=r"types check failed: column AGE53X must hold numeric codes, found 'forty' on line 7"):
        tabular.load_meps(tmp_path)
    frame.assign(PCS42=frame["PCS42"].where(frame.index != 9)).to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match=r"types check failed: column PCS42 has 1 empty values \(first on line 11\)"):
        tabular.load_meps(tmp_path)
    text = frame.to_csv(index=False).splitlines(keepends=True)
    text[3] = '"' + text[3]  # a quote that never closes
    path.write_text("".join(text))
    with pytest.raises(DataIntegrityError, match=r"format check failed: malformed CSV"):
        tabular.load_meps(tmp_path)
    frame.assign(PANEL=20).to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match=r"panel check failed: no rows of panel 19 \(PANEL values: 20\)"):
        tabular.load_meps(tmp_path)


def test_celeba_missing_folder_says_where_to_put_it(tmp_path):
    with pytest.raises(DataNotFoundError, match="list_attr_celeba.txt.*torchvision"):
        data.load("celeba", data_path=str(tmp_path))


def test_colour_mnist_is_real_mnist_with_controlled_correlation():
    strong = data.load("colour_mnist", correlation=0.9, seed=0)
    assert strong.images.shape == (70_000, 3, 28, 28)
    assert np.bincount(strong.target[strong.split == "train"]).tolist()[:3] == [5923, 6742, 5958]
    agree = (strong.sensitive == (strong.target >= 5)).mean()
    assert agree == pytest.approx(0.9, abs=0.01)
    independent = data.load("colour_mnist", correlation=0.5, seed=0)
    assert (independent.sensitive == (independent.target >= 5)).mean() == pytest.approx(0.5, abs=0.01)
    # the stroke lives in exactly one channel: the colour's
    image = strong.images[0]
    assert image[strong.sensitive[0]].sum() > 0 and image[2].sum() == 0
    with pytest.raises(ParameterError, match="correlation=1.5"):
        data.load_colour_mnist(correlation=1.5)


def test_sampled_categorical_decoding_follows_the_softmax_and_is_seeded():
    from fairnb.data.encoder import TabularEncoder, sample_categories

    encoder = TabularEncoder(["colour"], ["size"]).fit(pd.DataFrame({"colour": ["red", "green", "blue"], "size": [1.0, 2.0, 3.0]}))
    logits = np.tile(np.log([[0.2, 0.5, 0.3]]), (20_000, 1))  # blocks are in sorted order: blue, green, red
    counts = np.bincount(sample_categories(logits, np.random.default_rng(0)), minlength=3) / len(logits)
    assert np.allclose(counts, [0.2, 0.5, 0.3], atol=0.015)
    assert (sample_categories(logits, np.random.default_rng(1)) == sample_categories(logits, np.random.default_rng(1))).all()
    decoded = np.concatenate([logits, np.zeros((len(logits), 1))], axis=1)
    sampled = encoder.inverse_transform(decoded, categorical="sample", rng=np.random.default_rng(0))["colour"]
    assert set(sampled) == {"red", "green", "blue"}
    assert set(encoder.inverse_transform(decoded)["colour"]) == {"green"}  # arg-max: the largest logit only
    with pytest.raises(ParameterError, match="categorical_decoding"):
        encoder.inverse_transform(decoded, categorical="mode")
    with pytest.raises(ParameterError, match="rng"):
        encoder.inverse_transform(decoded, categorical="sample")
