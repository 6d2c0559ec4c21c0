"""GRDA (Xu et al., ICLR 2022): graph-relational domain adaptation, and the baselines its tables
compare against (Source-Only, DANN, CDANN, ADDA, MDD), all sharing one encoder/predictor and one
training loop; each method differs only in its adversary (one module each)."""
