"""The ``iclr`` command line and its runner core (Hydra bridge, jobs, records, tables)."""

__version__ = "0.1.0"
