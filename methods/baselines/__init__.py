"""Baselines that paper tables compare against (node classifiers: MLP, GCN, GraphSAGE)."""
