"""Paper-vs-ours tables for the reproduction pages, built from the runs' results records."""
