"""Shapley attribution in trajectory prediction ("You Mostly Walk Alone", Makansi et al., ICLR
2022): ETH/UCY leave-one-scene-out and a SportVU sample, constant-velocity / LSTM / per-neighbour
edge-attention predictors with a 25-mode latent and GMM output, and exact, permutation-sampled
and Banzhaf-type (released-code) attributions over {past, each neighbour, a random agent}."""
