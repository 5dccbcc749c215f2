# CoOp on the toy world's tiny CLIP (ToyCLIP, pretrained by
# tools/toyworld/pretrain_clip.py; docs/toyworld.md). The checkpoint ships
# inside the package and loads like a local open_clip checkpoint file.
model = dict(
    type='PromptClassifier',
    backbone=dict(
        type='CLIPBackbone',
        model_name='ToyCLIP',
        config_file='mmccr/datasets/toyworld/ToyCLIP.json',
        pretrained='mmccr/datasets/toyworld/toyclip.safetensors',
        templates=['a photo of a {}.']),
    prompt_learner=dict(
        type='CoOp',
        n_ctx=4,
        ctx_init='a photo of a',
        class_specific=False,
        class_token_position='end',
        logit_scale=None),  # ToyCLIP's own learned scale (≈ 14)
    loss=dict(type='BCELoss'),
)
