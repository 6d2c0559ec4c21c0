"""Cold Brew (Zheng et al., ICLR 2022): GNN-to-MLP distillation for tail and isolated nodes."""
