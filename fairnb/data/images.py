"""Image datasets: Colour-MNIST (built from the vendored MNIST digits) and CelebA (bring your own).

Both give an ``ImageDataset`` with ``images`` (uint8 array (n, 3, H, W)), ``target`` and
``sensitive`` (int arrays (n,)), their names and the meaning of each value.

Colour-MNIST colouring rule: every digit gets one of two colours, red (sensitive = 0) or green
(sensitive = 1). With probability ``correlation`` a digit takes the colour of its half (red for
0–4, green for 5–9), otherwise the other colour; ``correlation = 0.5`` makes colour independent of
the digit and ``1.0`` makes it a perfect proxy. The digit's stroke intensity becomes that colour's
channel; the other channels stay black. Target: the digit (0–9). Colour draws use ``seed``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fairnb.data.tabular import data_root, vendored
from fairnb.errors import DataIntegrityError, DataNotFoundError, ParameterError


@dataclass(frozen=True)
class ImageDataset:
    """Images with a target and a binary sensitive attribute.

    Attributes:
        images: uint8 array (n, 3, height, width).
        target: int64 array (n,) of class indices.
        sensitive: int64 array (n,) with 1 = privileged / second group.
        split: array (n,) of "train" / "test" (the official partition where one exists).
    """

    name: str
    images: np.ndarray
    target: np.ndarray
    sensitive: np.ndarray
    split: np.ndarray
    target_name: str
    sensitive_name: str
    target_labels: dict[int, str]
    sensitive_labels: dict[int, str]
    rules: list[str]
    source: str
    kind: str = field(default="image")

    def groups(self) -> pd.DataFrame:
        """Counts per (target, sensitive) subgroup, with readable labels."""
        frame = pd.DataFrame({
            self.target_name: [self.target_labels[int(t)] for t in self.target],
            self.sensitive_name: [self.sensitive_labels[int(s)] for s in self.sensitive],
        })
        return frame.value_counts().rename("images").reset_index().sort_values([self.target_name, self.sensitive_name])


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[:4], "big")
    if magic not in (2049, 2051):
        raise DataIntegrityError(f"{path}: not an IDX file (magic {magic})")
    ndim = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_colour_mnist(correlation: float = 0.9, seed: int = 0) -> ImageDataset:
    """Colour-MNIST from the real MNIST digits (60,000 train + 10,000 test), see module doc."""
    if not isinstance(correlation, (int, float)) or not 0.0 <= correlation <= 1.0:
        raise ParameterError("correlation", correlation, "a number in [0, 1]")
    images, labels, split = [], [], []
    for part, prefix in (("train", "train"), ("test", "t10k")):
        images.append(read_idx(vendored(f"mnist/{prefix}-images-idx3-ubyte.gz")))
        labels.append(read_idx(vendored(f"mnist/{prefix}-labels-idx1-ubyte.gz")))
        split.append(np.full(len(labels[-1]), part))
    grey = np.concatenate(images)
    digit = np.concatenate(labels).astype(np.int64)
    rng = np.random.default_rng(seed)
    half = (digit >= 5).astype(np.int64)
    keep = rng.random(len(digit)) < correlation
    colour = np.where(keep, half, 1 - half)
    coloured = np.zeros((len(digit), 3, 28, 28), dtype=np.uint8)
    coloured[np.arange(len(digit)), colour] = grey  # channel 0 = red, 1 = green
    return ImageDataset(
        name="colour_mnist", images=coloured, target=digit, sensitive=colour,
        split=np.concatenate(split), target_name="digit", sensitive_name="colour",
        target_labels={d: str(d) for d in range(10)}, sensitive_labels={0: "red", 1: "green"},
        rules=[
            "MNIST's 60,000 training and 10,000 test digits, unchanged (28 × 28).",
            f"Colour: red for digits 0–4 and green for 5–9 with probability correlation = {correlation}, the other colour otherwise (seed {seed}).",
            "The grey stroke becomes the red or green channel; target = digit, sensitive = colour.",
        ],
        source="MNIST (LeCun, Cortes & Burges), CC BY-SA 3.0",
    )


CELEBA_HELP = (
    "CelebA cannot be shipped with fairnb (non-commercial research agreement). Download "
    "img_align_celeba.zip, list_attr_celeba.txt and list_eval_partition.txt from the CelebA "
    "project page and arrange them as torchvision.datasets.CelebA expects: {root}/celeba/"
    "list_attr_celeba.txt, {root}/celeba/list_eval_partition.txt and the unzipped "
    "{root}/celeba/img_align_celeba/*.jpg. Set FAIRNB_DATA={root} or pass 'data_path'."
)


def read_celeba_attributes(folder: Path) -> pd.DataFrame:
    """``list_attr_celeba.txt`` → DataFrame indexed by image file name, values in {0, 1}."""
    path = folder / "list_attr_celeba.txt"
    with open(path) as handle:
        handle.readline()
        names = handle.readline().split()
        rows = [line.split() for line in handle if line.strip()]
    if not rows or any(len(r) != len(names) + 1 for r in rows[:100]):
        raise DataIntegrityError(f"{path}: expected a count line, a header of attribute names and '<file> ±1 …' rows")
    frame = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=names).astype(int)
    return (frame > 0).astype(np.int64)


def load_celeba(data_path: str | os.PathLike | None = None, image_size: int = 64,
                max_images: int | None = None, target: str = "Male", sensitive: str = "Smiling") -> ImageDataset:
    """CelebA from a user-supplied folder in torchvision's layout (see ``CELEBA_HELP``).

    Images are centre-cropped to a square and resized to ``image_size`` (default 64).
    ``max_images`` keeps the first n images of the official order (for quick runs).
    """
    from PIL import Image

    root = data_root(data_path)
    folder = root / "celeba"
    needed = [folder / "list_attr_celeba.txt", folder / "list_eval_partition.txt", folder / "img_align_celeba"]
    for path in needed:
        if not path.exists():
            raise DataNotFoundError(f"{path} not found. " + CELEBA_HELP.format(root=root))
    attributes = read_celeba_attributes(folder)
    for name, column in (("target", target), ("sensitive", sensitive)):
        if column not in attributes.columns:
            raise ParameterError(name, column, f"a CelebA attribute: {', '.join(attributes.columns[:8])}, …")
    partition = pd.read_csv(folder / "list_eval_partition.txt", sep=r"\s+", header=None, index_col=0).iloc[:, 0]
    files = list(attributes.index[: max_images or len(attributes)])
    images = np.zeros((len(files), 3, image_size, image_size), dtype=np.uint8)
    for i, name in enumerate(files):
        path = folder / "img_align_celeba" / name
        if not path.exists():
            raise DataNotFoundError(f"{path} listed in list_attr_celeba.txt is missing. " + CELEBA_HELP.format(root=root))
        with Image.open(path) as image:
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side)).resize((image_size, image_size), Image.BILINEAR)
            images[i] = np.asarray(image).transpose(2, 0, 1)
    split = np.where(partition.reindex(files).fillna(0).to_numpy() == 2, "test", "train")
    return ImageDataset(
        name="celeba", images=images, target=attributes.loc[files, target].to_numpy(),
        sensitive=attributes.loc[files, sensitive].to_numpy(), split=split,
        target_name=target, sensitive_name=sensitive,
        target_labels={0: f"not {target}", 1: target}, sensitive_labels={0: f"not {sensitive}", 1: sensitive},
        rules=[
            f"Images from img_align_celeba, centre-cropped and resized to {image_size} × {image_size}.",
            f"Target {target}, sensitive {sensitive} (attribute value 1 vs -1 in list_attr_celeba.txt).",
            "Official partition: 0/1 (train/validation) -> train, 2 -> test.",
        ],
        source=f"CelebA (Liu et al. 2015), user-supplied at {folder}",
    )
