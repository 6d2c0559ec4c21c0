"""Trans-Encoder (Liu, Jiao, Massiah, Yilmaz, Havrylov, ICLR 2022): unsupervised sentence-pair
modelling by self- and mutual distillation between a bi-encoder and a cross-encoder.

Modules: ``data`` (STS12–16, STS-B and SICK-R files; the label-free transductive pair pool and
the gold-scored evaluation sets), ``models`` (start models, bi/cross construction, checkpoint
kind), ``scoring`` (batched bi cosines, cross scores, Spearman x100), ``training`` (one
bi-encoder or cross-encoder training stage), ``distill`` (the cycles, self or mutual),
``pipeline`` (the ``transencoder`` and ``transencoder_eval`` entrypoints), ``plots``.
"""
