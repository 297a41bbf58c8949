"""Paper-000 baselines behind one interface (see ``fairnb.paper000.baselines.base``)."""
