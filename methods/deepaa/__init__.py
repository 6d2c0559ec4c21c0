"""Deep AutoAugment (Zheng, Zhang, Yan & Zhang, ICLR 2022): a multi-layer augmentation policy
searched layer by layer by regularised gradient matching, and training with the policy against
no augmentation, flip+crop, RandAugment and TrivialAugment (same op set, network and schedule).

Modules: ``ops`` (the 18 PIL-equivalent operations on batched tensors and the 139 candidates),
``policy`` (policy layers and the baseline augmenters), ``models`` (CNN, WRN, ResNet),
``search`` (JVP gradient-matching search), ``train`` (evaluation training), ``data`` (loaders),
``plots``, ``pipeline`` (the ``run`` entrypoint).
"""
