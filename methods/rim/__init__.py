"""RIM: recurrent intensity modelling (Ma, Liu, Deoras, ICLR 2022) — ItemRec and UserRec from
one marked temporal point process, S(x, y) = p(y | x) · λ(x), and matching under exposure
constraints. Official code: awslabs/recurrent-intensity-model-experiments (package ``rime``)."""
