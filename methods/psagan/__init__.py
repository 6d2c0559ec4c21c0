"""PSA-GAN: progressive self-attention GANs for synthetic time series (Jeha et al., ICLR 2022).

Progressive generator / discriminator with spectral-norm convolutions and residual self-attention
(``models``), LSGAN + moment loss with the official discriminator warm-up (``train``), a GRU-GAN
baseline (``gru_gan``), an EBGAN baseline (``ebgan``), Context-FID with the causal dilated CNN
encoder of Franceschi et al. (``encoder``, ``fid``) and downstream GluonTS DeepAR real vs real +
synthetic (``forecast``). Official code: mbohlkeschneider/psa-gan (a GluonTS fork; it does not
run as shipped).
"""
