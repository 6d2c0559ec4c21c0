"""In-domain generalisation of visual representations (Schott et al., ICLR 2022).

Regress the generative factors of dSprites-like / Shapes3D-like images under the four systematic
splits (random, composition, interpolation, extrapolation) and score per-factor R² against the
full-grid variance, as the official benchmark kit does. The images are re-rendered procedurally
(``render_dsprites``, ``render_shapes3d``); the official Zenodo split files load through
``data.load`` for users who have them.
"""
