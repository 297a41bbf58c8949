"""fairnb: the tested package behind the fair-synthetic-data reproducibility book."""

__version__ = "0.1.0"
