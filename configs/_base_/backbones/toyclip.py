# The toy world's tiny CLIP, v2 (`ToyCLIP-Sigmoid`): pretrained with a
# SigLIP-style sigmoid loss and a learned logit bias by
# tools/toyworld/pretrain_clip.py --loss siglip (docs/toyworld.md), so that
# σ(scale · cos + bias) is a presence probability. Learners take the scale
# and bias from the checkpoint (logit_scale=None, logit_bias=None). The
# checkpoint ships inside the package and loads like a local open_clip
# checkpoint file. v1 (no bias) is toyclip-v1.py.
backbone = dict(
    type='CLIPBackbone',
    model_name='ToyCLIP-Sigmoid',
    config_file='mmccr/models/backbones/toyclip/ToyCLIP-Sigmoid.json',
    pretrained='mmccr/models/backbones/toyclip/toyclip_siglip.safetensors',
    templates=['a photo of a {}.'])
