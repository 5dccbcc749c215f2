# The toy world's tiny CLIP (ToyCLIP, pretrained by
# tools/toyworld/pretrain_clip.py; docs/toyworld.md). The checkpoint ships
# inside the package and loads like a local open_clip checkpoint file.
backbone = dict(
    type='CLIPBackbone',
    model_name='ToyCLIP',
    config_file='mmccr/models/backbones/toyclip/ToyCLIP.json',
    pretrained='mmccr/models/backbones/toyclip/toyclip.safetensors',
    templates=['a photo of a {}.'])
