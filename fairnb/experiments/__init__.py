"""End-to-end experiment pipelines behind the notebooks (one module per paper)."""
