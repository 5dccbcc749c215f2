# ToyCLIP v1: the toy world's tiny CLIP pretrained with CLIP's softmax
# contrastive loss (tools/toyworld/pretrain_clip.py; docs/toyworld.md). It
# has no logit bias, so σ(scale · cos) says "present" to most absent classes;
# kept for the v1 measurements in docs/toyworld.md. The demo uses v2
# (toyclip.py).
backbone = dict(
    type='CLIPBackbone',
    model_name='ToyCLIP',
    config_file='mmccr/models/backbones/toyclip/ToyCLIP.json',
    pretrained='mmccr/models/backbones/toyclip/toyclip.safetensors',
    templates=['a photo of a {}.'])
