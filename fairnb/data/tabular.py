"""Tabular datasets: Adult, COMPAS, German (vendored) and MEPS panel 19 (bring your own).

Preprocessing follows AIF360's ``StandardDataset`` subclasses, the convention both papers used:
rows with missing values are dropped, the label is binary with 1 = favourable outcome, and each
sensitive attribute has one privileged value. Each rule is written once, here, and listed in
``TabularDataset.rules`` so the book can print it.

Columns of ``TabularDataset.frame``: every feature, every sensitive column (kept as readable
strings, e.g. ``sex`` in {"Male", "Female"}) and the ``target`` column as int 0/1 where
1 is the favourable label (Adult: income >50K; COMPAS: *no* two-year recidivism; German: good
credit; MEPS: utilisation >= 10 visits).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairnb.errors import DataIntegrityError, DataNotFoundError, ParameterError, one_of

DATA_DIR = Path(__file__).resolve().parent.parent / "datafiles"


@dataclass(frozen=True)
class TabularDataset:
    """A cleaned tabular dataset with its fairness metadata.

    Attributes:
        name: registry name (``adult``, ``compas``, ...).
        frame: cleaned DataFrame, one row per record, no missing values.
        target: name of the binary label column (int, 1 = favourable).
        sensitive: names of the sensitive columns, first is the default.
        privileged: sensitive column -> its privileged value.
        categorical: feature columns treated as categories (sensitive columns excluded).
        numeric: feature columns treated as numbers (sensitive columns excluded).
        integer: numeric columns whose values are integers.
        target_labels: {0: meaning, 1: meaning} of the label values.
        weights: optional column of survey weights (MEPS), not a feature.
        rules: the preprocessing rules applied, in words, in order.
        source: where the raw data came from.
    """

    name: str
    frame: pd.DataFrame
    target: str
    sensitive: list[str]
    privileged: dict[str, Any]
    categorical: list[str]
    numeric: list[str]
    integer: list[str]
    target_labels: dict[int, str]
    rules: list[str]
    source: str
    weights: str | None = None
    kind: str = field(default="tabular")

    @property
    def features(self) -> list[str]:
        """Feature columns (categorical then numeric), without target and sensitive columns."""
        return self.categorical + self.numeric

    def check_sensitive(self, sensitive: str) -> str:
        """Return ``sensitive`` if it is one of this dataset's sensitive columns, else raise."""
        if sensitive not in self.sensitive:
            raise ParameterError("sensitive", sensitive, f"for {self.name}: {one_of(self.sensitive)}")
        return sensitive

    def is_privileged(self, sensitive: str | None = None) -> np.ndarray:
        """Int array (n,) with 1 where the record belongs to the privileged group of ``sensitive``."""
        column = self.check_sensitive(sensitive or self.sensitive[0])
        return (self.frame[column] == self.privileged[column]).to_numpy(dtype=np.int64)

    def labels(self) -> np.ndarray:
        """Int array (n,) of the binary target, 1 = favourable."""
        return self.frame[self.target].to_numpy(dtype=np.int64)

    def domains(self) -> dict[str, Any]:
        """Column -> sorted list of categories, or (min, max) for numeric columns."""
        out: dict[str, Any] = {}
        for c in self.categorical + self.sensitive:
            out[c] = sorted(self.frame[c].astype(str).unique())
        for c in self.numeric:
            out[c] = (self.frame[c].min(), self.frame[c].max())
        return out

    def summary(self) -> pd.DataFrame:
        """One row per column: role, type, number of distinct values, domain preview."""
        rows = []
        roles = {c: "categorical" for c in self.categorical}
        roles.update({c: "numeric" for c in self.numeric})
        roles.update({c: "sensitive" for c in self.sensitive})
        roles[self.target] = "target"
        for column, role in roles.items():
            values = self.frame[column]
            if role == "numeric":
                domain = f"{values.min():g} … {values.max():g}"
            else:
                cats = sorted(values.astype(str).unique())
                domain = ", ".join(cats[:4]) + (f", … ({len(cats)} values)" if len(cats) > 4 else "")
            rows.append({"column": column, "role": role, "distinct": int(values.nunique()), "domain": domain})
        return pd.DataFrame(rows)


def sha256_of(path: Path) -> str:
    """sha256 of a file's uncompressed content (gzip files are decompressed first)."""
    digest = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes as stored (no decompression)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# sha256 of the vendored files as stored (compressed). ``SHA256SUMS`` records the sha256 of their
# content; these are checked first, so a damaged archive is reported with its path before anything
# tries to decompress it. A test keeps both lists in step with the files.
COMPRESSED_SHA256 = {
    "adult/adult.data.gz": "c7a2b4716a97f930123e0baf879188d701e798172631a654fc703d4b082907f3",
    "adult/adult.test.gz": "8a2c1bffa6e7ce5abfa43881ae5e87c4311ebc2b3cd526c9c40a43f19f06f799",
    "compas/compas-scores-two-years.csv.gz": "706137877c1ffafbb8580f2523644bbe34e639dad00922abc6079f8f31d75514",
    "german/german.data.gz": "a4cc977b7fc38d60827f2f881d8377954ece4d7ade5d026e827307bb63395df2",
    "german/values_maps.json.gz": "eb8dbab28a3af918b7aa9d01fca0c8e8f1261eccb1a25d806b3854852e55bb56",
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "mnist/train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "mnist/train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
}


@lru_cache(maxsize=None)
def _expected_sums() -> dict[str, str]:
    sums = {}
    for line in (DATA_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    return sums


@lru_cache(maxsize=None)
def vendored(relative: str) -> Path:
    """Path of a vendored data file after checking its sha256 (once per process).

    The stored bytes are checked against ``COMPRESSED_SHA256`` before anything decompresses them; a
    file without a recorded stored digest is decompressed (read errors reported as damage) and its
    content checked against ``SHA256SUMS``. Either way a mismatch raises ``DataIntegrityError`` naming
    the file.
    """
    path = DATA_DIR / relative
    if not path.is_file():
        raise DataNotFoundError(f"vendored data file {path} is missing; reinstall fairnb")
    stored = COMPRESSED_SHA256.get(relative)
    if stored is not None:
        actual = file_sha256(path)
        if actual != stored:
            raise DataIntegrityError(f"{path}: sha256 {actual} of the file does not match the recorded {stored}: "
                                     "the file is damaged; reinstall fairnb")
        return path
    expected = _expected_sums()[relative]
    try:
        actual = sha256_of(path)
    except (OSError, EOFError, zlib.error) as error:
        raise DataIntegrityError(f"{path}: cannot be read ({error}): the file is damaged; reinstall fairnb") from None
    if actual != expected:
        raise DataIntegrityError(f"{path}: sha256 {actual} does not match the recorded {expected}")
    return path


def data_checksums() -> dict[str, str]:
    """Recorded sha256 of every vendored file (used in run cache keys)."""
    return dict(_expected_sums())


# --------------------------------------------------------------------------- Adult

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]


def typed(frame: pd.DataFrame, integer: list[str] = (), text: list[str] = ()) -> pd.DataFrame:
    """``frame`` with the ``integer`` columns as int64 and the ``text`` columns as strings (every loader's last step)."""
    for column in integer:
        frame[column] = frame[column].astype(np.int64)
    for column in text:
        frame[column] = frame[column].astype(str)
    return frame


def load_adult() -> TabularDataset:
    """UCI Adult, train + test files, AIF360 ``AdultDataset`` rules: 45,222 rows."""
    parts = []
    for name, skip in (("adult/adult.data.gz", 0), ("adult/adult.test.gz", 1)):
        part = pd.read_csv(
            vendored(name), header=None, names=ADULT_COLUMNS, skiprows=skip, sep=",",
            skipinitialspace=True, na_values="?", compression="gzip",
        )
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True).dropna().reset_index(drop=True)
    frame["income"] = frame["income"].str.rstrip(".").map({">50K": 1, "<=50K": 0}).astype(np.int64)
    frame = frame.drop(columns=["fnlwgt"])
    frame["race"] = np.where(frame["race"] == "White", "White", "Non-white")
    categorical = ["workclass", "education", "marital-status", "occupation", "relationship", "native-country"]
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    frame = typed(frame, integer=numeric, text=categorical + ["sex", "race"])
    return TabularDataset(
        name="adult", frame=frame, target="income", sensitive=["sex", "race"],
        privileged={"sex": "Male", "race": "White"}, categorical=categorical, numeric=numeric,
        integer=numeric, target_labels={0: "<=50K", 1: ">50K"},
        rules=[
            "Concatenate adult.data (32,561 rows) and adult.test (16,281 rows; first line skipped, trailing '.' removed from labels).",
            "Drop every row with a missing value ('?'): 3,620 rows, leaving 45,222.",
            "Drop fnlwgt (a census sampling weight, not a person's attribute), as AIF360 does.",
            "Target income: 1 = '>50K' (favourable), 0 = '<=50K'.",
            "Sensitive sex: privileged 'Male'. Sensitive race: 'White' (privileged) vs 'Non-white'.",
        ],
        source="UCI Machine Learning Repository, Adult (Becker & Kohavi 1996), CC BY 4.0",
    )


# --------------------------------------------------------------------------- COMPAS


def load_compas() -> TabularDataset:
    """ProPublica COMPAS two-year recidivism with ProPublica's filters (AIF360 ``CompasDataset``)."""
    raw = pd.read_csv(vendored("compas/compas-scores-two-years.csv.gz"), compression="gzip")
    keep = (
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    )
    columns = [
        "sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
        "priors_count", "c_charge_degree", "c_charge_desc", "two_year_recid",
    ]
    frame = raw.loc[keep, columns].dropna().reset_index(drop=True)
    # AIF360: label two_year_recid with favourable 0; we store 1 = favourable = no recidivism.
    frame = frame.rename(columns={"two_year_recid": "no_recid"})
    frame["no_recid"] = (frame["no_recid"] == 0).astype(np.int64)
    frame["race"] = np.where(frame["race"] == "Caucasian", "Caucasian", "Not Caucasian")
    numeric = ["age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count"]
    categorical = ["age_cat", "c_charge_degree", "c_charge_desc"]
    frame = typed(frame, integer=numeric, text=categorical + ["sex", "race"])
    return TabularDataset(
        name="compas", frame=frame, target="no_recid", sensitive=["sex", "race"],
        privileged={"sex": "Female", "race": "Caucasian"}, categorical=categorical,
        numeric=numeric, integer=numeric, target_labels={0: "re-offended within two years", 1: "did not re-offend"},
        rules=[
            "ProPublica filters: -30 <= days_b_screening_arrest <= 30, is_recid != -1, c_charge_degree != 'O', score_text != 'N/A' (6,172 rows).",
            "Keep AIF360's columns (sex, age, age_cat, race, juvenile counts, priors_count, charge degree and description) and drop rows with a missing value.",
            "Target no_recid: 1 = did not re-offend within two years (AIF360's favourable label two_year_recid = 0).",
            "Sensitive sex: privileged 'Female' (AIF360 default). Sensitive race: 'Caucasian' (privileged) vs 'Not Caucasian'.",
        ],
        source="ProPublica compas-analysis, compas-scores-two-years.csv (Angwin et al. 2016)",
    )


# --------------------------------------------------------------------------- German

GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "status_sex", "other_debtors",
    "present_residence_since", "property", "age", "installment_plans", "housing",
    "number_of_existing_credits", "job", "number_of_people_liable_for", "telephone",
    "foreign_worker", "credit",
]


def load_german() -> TabularDataset:
    """UCI Statlog German credit, AIF360 ``GermanDataset`` rules: 1,000 rows."""
    frame = pd.read_csv(vendored("german/german.data.gz"), sep=" ", header=None, names=GERMAN_COLUMNS, compression="gzip")
    with gzip.open(vendored("german/values_maps.json.gz"), "rt") as handle:
        codes = json.load(handle)
    male = {"A91", "A93", "A94"}
    frame["sex"] = np.where(frame["status_sex"].isin(male), "male", "female")
    frame["age_group"] = np.where(frame["age"] > 25, "over 25", "25 or younger")
    frame["credit"] = (frame["credit"] == 1).astype(np.int64)
    frame = frame.drop(columns=["status_sex"])
    categorical = [c for c in GERMAN_COLUMNS if c in frame and not pd.api.types.is_numeric_dtype(frame[c])]
    for column in categorical:
        frame[column] = frame[column].map(lambda v, c=column: str(codes.get(c, {}).get(v, v)))
    numeric = ["duration", "credit_amount", "installment_rate", "present_residence_since", "age",
               "number_of_existing_credits", "number_of_people_liable_for"]
    frame = typed(frame, integer=numeric)
    return TabularDataset(
        name="german", frame=frame, target="credit", sensitive=["sex", "age_group"],
        privileged={"sex": "male", "age_group": "over 25"}, categorical=categorical,
        numeric=numeric, integer=numeric, target_labels={0: "bad credit", 1: "good credit"},
        rules=[
            "All 1,000 rows of german.data; codes A.. decoded to their german.doc meanings.",
            "sex derived from personal status: A91, A93, A94 -> male (privileged); A92, A95 -> female; personal status dropped.",
            "age_group: 'over 25' (privileged) vs '25 or younger', as AIF360's second protected attribute; age stays a feature.",
            "Target credit: 1 = good (favourable), 0 = bad (file code 2).",
        ],
        source="UCI Machine Learning Repository, Statlog (German Credit Data) (Hofmann 1994), CC BY 4.0",
    )


# --------------------------------------------------------------------------- MEPS

MEPS_HELP = (
    "MEPS panel 19 cannot be shipped with fairnb (AHRQ data-use agreement). Download the 2015 "
    "full-year consolidated file HC-181 from the AHRQ MEPS website, convert it to CSV as AIF360's "
    "aif360/data/raw/meps/generate_data.R does, and save it as {path} (or pass the path as the "
    "'data_path' parameter; FAIRNB_DATA names the folder)."
)

MEPS_RENAME = {
    "FTSTU53X": "FTSTU", "ACTDTY53": "ACTDTY", "HONRDC53": "HONRDC", "RTHLTH53": "RTHLTH",
    "MNHLTH53": "MNHLTH", "CHBRON53": "CHBRON", "JTPAIN53": "JTPAIN", "PREGNT53": "PREGNT",
    "WLKLIM53": "WLKLIM", "ACTLIM53": "ACTLIM", "SOCLIM53": "SOCLIM", "COGLIM53": "COGLIM",
    "EMPST53": "EMPST", "REGION53": "REGION", "MARRY53X": "MARRY", "AGE53X": "AGE",
    "POVCAT15": "POVCAT", "INSCOV15": "INSCOV",
}
MEPS_CATEGORICAL = [
    "REGION", "SEX", "MARRY", "FTSTU", "ACTDTY", "HONRDC", "RTHLTH", "MNHLTH", "HIBPDX", "CHDDX",
    "ANGIDX", "MIDX", "OHRTDX", "STRKDX", "EMPHDX", "CHBRON", "CHOLDX", "CANCERDX", "DIABDX",
    "JTPAIN", "ARTHDX", "ARTHTYPE", "ASTHDX", "ADHDADDX", "PREGNT", "WLKLIM", "ACTLIM", "SOCLIM",
    "COGLIM", "DFHEAR42", "DFSEE42", "ADSMOK42", "PHQ242", "EMPST", "POVCAT", "INSCOV",
]
MEPS_NUMERIC = ["AGE", "PCS42", "MCS42", "K6SUM42"]
MEPS_FILTERED = MEPS_CATEGORICAL[3:] + ["EDUCYR", "HIDEG"]
MEPS_UTILISATION = ["OBTOTV15", "OPTOTV15", "ERTOT15", "IPNGTD15", "HHTOTD15"]
MEPS_REQUIRED = sorted(
    set(MEPS_RENAME) | {"PANEL", "HISPANX", "RACEV2X", "PERWT15F", "SEX", "EDUCYR", "HIDEG"}
    | set(MEPS_UTILISATION) | (set(MEPS_CATEGORICAL + MEPS_NUMERIC) - set(MEPS_RENAME.values()))
)


# AIF360's MEPSDataset19 has 15,830 rows after the rules below (its tutorials' 50 % training split has
# 7,915); a complete HC-181 file gives exactly this many. FAIRNB_MEPS_ROWS changes the expectation for a
# deliberate sample of the file: an integer, or "any".
MEPS19_ROWS = 15_830
_DEFAULT: Any = object()


def data_root(data_path: str | os.PathLike | None = None) -> Path:
    """Folder for user-supplied data: ``data_path``, else ``$FAIRNB_DATA``, else ``./data``."""
    return Path(data_path or os.environ.get("FAIRNB_DATA") or "data").expanduser()


def meps_expected_rows() -> int | None:
    """Rows of panel 19 a MEPS file must give after the rules: ``$FAIRNB_MEPS_ROWS`` (``any`` = no check),
    else ``MEPS19_ROWS``."""
    text = os.environ.get("FAIRNB_MEPS_ROWS", "").strip()
    if not text:
        return MEPS19_ROWS
    if text.lower() == "any":
        return None
    try:
        rows = int(text)
    except ValueError:
        rows = -1
    if rows < 1:
        raise ParameterError("FAIRNB_MEPS_ROWS", text, "an integer >= 1 (rows of panel 19 after the rules) or 'any'")
    return rows


def _meps_problem(path: Path, check: str, detail: str) -> DataIntegrityError:
    return DataIntegrityError(f"{path}: MEPS {check} check failed: {detail}")


def read_meps_csv(path: Path) -> pd.DataFrame:
    """The columns fairnb needs from a user-supplied ``h181.csv``, after checking the file.

    Checks, in order (the error names the file and the check): *file* (a non-empty regular file),
    *format* (text CSV with a header), *schema* (every column of ``MEPS_REQUIRED``), *complete* (the
    file ends with a line break, so its last row was not cut), *rows* (at least one data row),
    *types* (every required column numeric, no empty values).
    """
    if not path.is_file():
        raise _meps_problem(path, "file", "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise _meps_problem(path, "file", "the file is empty (0 bytes)")
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        handle.seek(max(0, size - 1))
        last = handle.read(1)
    if b"\0" in head or head[:2] == b"\x1f\x8b":
        raise _meps_problem(path, "format", "binary content, not a text CSV file"
                            + (" (it is gzip-compressed: decompress it first)" if head[:2] == b"\x1f\x8b" else ""))
    try:
        header = pd.read_csv(path, nrows=0).columns
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise _meps_problem(path, "format", f"not a CSV file with a header line ({error})") from None
    missing = [c for c in MEPS_REQUIRED if c not in header]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise _meps_problem(path, "schema", f"not MEPS HC-181: columns missing: {', '.join(missing[:10])}{more}")
    if last not in (b"\n", b"\r"):
        raise _meps_problem(path, "complete", "the file does not end with a line break: it was cut in the middle "
                            "of a row (an interrupted download or copy); copy the whole file again")
    try:
        raw = pd.read_csv(path, usecols=MEPS_REQUIRED)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as error:
        raise _meps_problem(path, "format", f"malformed CSV ({str(error).strip()})") from None
    if raw.empty:
        raise _meps_problem(path, "rows", "the file has a header but no data rows")
    for column in MEPS_REQUIRED:
        values = raw[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = values[numbers.isna() & values.notna()]
            example = f"{bad.iloc[0]!r} on line {bad.index[0] + 2}" if len(bad) else "non-numeric values"
            raise _meps_problem(path, "types", f"column {column} must hold numeric codes, found {example}")
        if values.isna().any():
            first = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise _meps_problem(path, "types", f"column {column} has {int(values.isna().sum())} empty values "
                                f"(first on line {first + 2})")
    return raw


def load_meps(data_path: str | os.PathLike | None = None, expected_rows: int | None = _DEFAULT) -> TabularDataset:
    """MEPS panel 19 from a user-supplied ``h181.csv`` (AIF360 ``MEPSDataset19`` rules).

    ``data_path`` is the CSV file or the folder holding it; default ``$FAIRNB_DATA/h181.csv``. The file
    is checked (see ``read_meps_csv``), and the rows of panel 19 left after the rules are counted
    against ``expected_rows`` (default ``meps_expected_rows()``: 15,830, AIF360's count; ``None``
    skips this *row count* check, for a deliberate sample of the file).
    """
    root = data_root(data_path)
    path = root if root.suffix == ".csv" else root / "h181.csv"
    if not path.exists():
        raise DataNotFoundError(f"{path} not found. " + MEPS_HELP.format(path=path))
    expected = meps_expected_rows() if expected_rows is _DEFAULT else expected_rows
    raw = read_meps_csv(path)
    raw["RACE"] = np.where((raw["HISPANX"] == 2) & (raw["RACEV2X"] == 1), "White", "Non-White")
    frame = raw[raw["PANEL"] == 19].rename(columns=MEPS_RENAME)
    for column in ("REGION", "AGE", "MARRY", "ASTHDX"):
        frame = frame[frame[column] >= 0]
    frame = frame[(frame[MEPS_FILTERED] >= -1).all(axis=1)]
    frame = frame.assign(UTILIZATION=(frame[MEPS_UTILISATION].sum(axis=1) >= 10).astype(np.int64))
    frame = frame[MEPS_CATEGORICAL + MEPS_NUMERIC + ["RACE", "UTILIZATION", "PERWT15F"]].reset_index(drop=True)
    if not (raw["PANEL"] == 19).any():
        panels = ", ".join(str(v) for v in sorted(raw["PANEL"].unique())[:5])
        raise _meps_problem(path, "panel", f"no rows of panel 19 (PANEL values: {panels}): HC-181 (2015) holds panels 19 and 20")
    if expected is not None and len(frame) != expected:
        raise _meps_problem(path, "row count", f"{len(frame):,} rows of panel 19 after the rules, expected {expected:,}: "
                            "the file is truncated or not the complete HC-181 file (for a deliberate sample, set "
                            "FAIRNB_MEPS_ROWS to its row count or to 'any')")
    for column in MEPS_CATEGORICAL:
        frame[column] = frame[column].astype(np.int64).astype(str)
    frame["AGE"] = frame["AGE"].astype(np.int64)
    frame["K6SUM42"] = frame["K6SUM42"].astype(np.int64)
    return TabularDataset(
        name="meps", frame=frame, target="UTILIZATION", sensitive=["RACE"],
        privileged={"RACE": "White"}, categorical=MEPS_CATEGORICAL, numeric=MEPS_NUMERIC,
        integer=["AGE", "K6SUM42"], target_labels={0: "fewer than 10 visits", 1: "10 or more visits"},
        weights="PERWT15F",
        rules=[
            "RACE: non-Hispanic White (HISPANX = 2 and RACEV2X = 1) is 'White' (privileged), everyone else 'Non-White'.",
            "Keep PANEL = 19; rename round-5.3 columns (AGE53X -> AGE, ...).",
            "Drop rows with REGION, AGE, MARRY or ASTHDX < 0, and rows where another categorical is < -1.",
            "Target UTILIZATION: 1 if OBTOTV15 + OPTOTV15 + ERTOT15 + IPNGTD15 + HHTOTD15 >= 10 (favourable).",
            "PERWT15F kept as survey weight (not a feature).",
        ],
        source=f"AHRQ MEPS HC-181 (panel 19), user-supplied at {path}",
    )


# --------------------------------------------------------------------------- user-supplied data in cache keys


def user_data_files(dataset: str, data_path: str | os.PathLike | None = None) -> list[Path]:
    """The files and folders a loader reads for a user-supplied dataset (MEPS, CelebA); [] for the others."""
    root = data_root(data_path)
    if dataset == "meps":
        return [root if root.suffix == ".csv" else root / "h181.csv"]
    if dataset == "celeba":
        folder = root / "celeba"
        return [folder / "list_attr_celeba.txt", folder / "list_eval_partition.txt", folder / "img_align_celeba"]
    return []


def _stat(path: Path) -> list[int] | str:
    """``[size, mtime_ns]`` of a file; for a folder ``[files, total size, newest mtime_ns]``; ``"missing"``."""
    try:
        info = path.stat()
    except OSError:
        return "missing"
    if not path.is_dir():
        return [info.st_size, info.st_mtime_ns]
    count = size = newest = 0
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                entry_info = entry.stat()
            except OSError:
                continue
            count, size, newest = count + 1, size + entry_info.st_size, max(newest, entry_info.st_mtime_ns)
    return [count, size, max(newest, info.st_mtime_ns)]


def user_data_fingerprint(dataset: str, data_path: str | os.PathLike | None = None,
                          base: Path | None = None) -> dict[str, Any]:
    """Where a user-supplied dataset comes from and what it is, for run cache keys: each file the loader reads
    (absolute path) → size and modification time (a folder: file count, total size, newest modification),
    or ``"missing"``. Relative paths are taken from ``base`` (the folder notebooks run in). Empty for
    vendored datasets. Supplying, replacing or removing the data changes the fingerprint."""
    fingerprint: dict[str, Any] = {}
    for path in user_data_files(dataset, data_path):
        if not path.is_absolute() and base is not None:
            path = base / path
        fingerprint[str(path.absolute())] = _stat(path)
    if dataset == "meps":
        fingerprint["FAIRNB_MEPS_ROWS"] = os.environ.get("FAIRNB_MEPS_ROWS", "")
    return fingerprint
