"""Paper-000 baselines behind one interface (see ``fairnb.baselines.base``)."""
