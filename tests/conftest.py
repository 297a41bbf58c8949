"""Shared fixtures: generated stand-ins with the real schema for data that cannot be shipped."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairnb.data.tabular import MEPS_RENAME, MEPS_REQUIRED, MEPS_UTILISATION


def write_meps_fixture(folder: Path, rows: int = 400, seed: int = 0) -> Path:
    """Write ``h181.csv`` with every column AIF360's MEPS panel-19 preprocessing reads.

    Values are random but valid, plus a few rows each preprocessing rule must drop
    (panel 20, negative REGION, a categorical coded -9).
    """
    rng = np.random.default_rng(seed)
    renamed = {v: k for k, v in MEPS_RENAME.items()}
    frame = pd.DataFrame(index=range(rows))
    for column in MEPS_REQUIRED:
        frame[column] = rng.integers(1, 4, size=rows)
    frame[renamed["AGE"]] = rng.integers(18, 85, size=rows)
    for column in ("PCS42", "MCS42"):
        frame[column] = np.round(rng.normal(50, 10, size=rows), 2)
    frame["K6SUM42"] = rng.integers(0, 24, size=rows)
    frame["PANEL"] = 19
    frame["HISPANX"] = rng.choice([1, 2], size=rows, p=[0.2, 0.8])
    frame["RACEV2X"] = rng.choice([1, 2, 3], size=rows, p=[0.7, 0.2, 0.1])
    frame["PERWT15F"] = np.round(rng.uniform(1000, 20000, size=rows), 1)
    for column in MEPS_UTILISATION:
        frame[column] = rng.poisson(2.5, size=rows)
    frame.loc[0, "PANEL"] = 20
    frame.loc[1, renamed["REGION"]] = -1
    frame.loc[2, renamed["RTHLTH"]] = -9
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "h181.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One torch thread per test process, as ``fairnb run`` gives each worker: the networks under
    test are tiny, and on a shared 2-core machine two spinning threads make them many times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)



@pytest.fixture
def meps_dir(tmp_path: Path) -> Path:
    write_meps_fixture(tmp_path)
    return tmp_path



CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male "
    "Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks "
    "Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()


def write_celeba_fixture(root: Path, images: int = 48, seed: int = 0, test_share: float = 0.25) -> Path:
    """Write a tiny CelebA in torchvision's layout under ``root/celeba``: the real 40-attribute
    ``list_attr_celeba.txt`` (±1 values), ``list_eval_partition.txt`` (0 train, 1 valid, 2 test, in
    the official order: test last) and 178 × 218 JPEGs in ``img_align_celeba/``.

    Each image is a plain face-coloured oval on noise; ``Male`` darkens the upper third (hair) and
    ``Smiling`` draws a light band where the mouth is, so the attributes are visible to a CNN.
    Every (Male, Smiling) subgroup appears in both the training and the test part.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.jpg" for i in range(1, images + 1)]
    values = rng.choice([-1, 1], size=(images, len(CELEBA_ATTRIBUTES)))
    male, smiling = CELEBA_ATTRIBUTES.index("Male"), CELEBA_ATTRIBUTES.index("Smiling")
    values[:, male] = np.where(np.arange(images) % 2 == 0, 1, -1)
    values[:, smiling] = np.where((np.arange(images) // 2) % 2 == 0, 1, -1)
    n_test = max(4, int(images * test_share))
    partition = np.where(np.arange(images) >= images - n_test, 2, np.where(np.arange(images) % 7 == 3, 1, 0))
    for name, row in zip(names, values):
        pixels = rng.integers(0, 60, size=(218, 178, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        draw.ellipse((39, 49, 139, 179), fill=(224, 172, 140))
        if row[male] == 1:
            draw.rectangle((30, 20, 148, 80), fill=(40, 30, 20))
        if row[smiling] == 1:
            draw.rectangle((64, 140, 114, 152), fill=(250, 250, 250))
        image.save(folder / "img_align_celeba" / name, quality=90)
    with open(folder / "list_attr_celeba.txt", "w") as handle:
        handle.write(f"{images}\n" + " ".join(CELEBA_ATTRIBUTES) + "\n")
        for name, row in zip(names, values):
            handle.write(name + " " + " ".join(f"{v:2d}" for v in row) + "\n")
    with open(folder / "list_eval_partition.txt", "w") as handle:
        handle.writelines(f"{name} {p}\n" for name, p in zip(names, partition))
    return root


@pytest.fixture
def celeba_dir(tmp_path: Path) -> Path:
    """A tiny generated CelebA root folder (holding ``celeba/``), see ``write_celeba_fixture``."""
    return write_celeba_fixture(tmp_path / "celeba_root")


@pytest.fixture(scope="session")
def snapshot_build(tmp_path_factory):
    """`fairnb book --from-snapshot` in a fresh copy of the repository, built once for every test that reads it:
    the copy (``tree``), the build's output (``stdout``), its ``seconds`` and the snapshot book's ``html`` folder."""
    from types import SimpleNamespace

    from fairnb.book import snapshot
    from test_book import FAIRNB, ROOT, copy_repository, in_tree

    if not (snapshot.SNAPSHOT / snapshot.PROVENANCE).exists():
        pytest.skip("no results snapshot committed")
    copy = copy_repository(tmp_path_factory.mktemp("snapshot") / "repo")
    assert (copy / "results" / "snapshot" / snapshot.PROVENANCE).exists()
    assert not (copy / "book" / "runs").exists()
    started = time.perf_counter()
    result = subprocess.run(FAIRNB + ["book", "--from-snapshot"], cwd=copy, env=in_tree(copy), capture_output=True,
                            text=True, timeout=900)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return SimpleNamespace(tree=copy, stdout=result.stdout, seconds=seconds,
                           html=copy / snapshot.SNAPSHOT_HTML.relative_to(ROOT))

