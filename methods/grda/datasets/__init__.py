"""GRDA's datasets: domain graphs (DG-15/60 toy pickles, a seeded generator, TPT-48, CompCars)."""
