"""DIVA (Dukler et al., ICLR 2022): the dataset derivative of a linearised learning task.

Closed-form weighted ridge on frozen features (``ridge``), its derivatives with respect to the
per-sample weights (``derivatives``), the procedures built on them (``procedures``), the
backbones that give the features (``backbones``), the data tasks (``tasks``) and the job
entrypoint (``pipeline``).
"""
