"""GIANT-XRT (Chien et al., ICLR 2022): node features by self-supervised multi-scale
neighbourhood prediction, posed as extreme multi-label classification."""
