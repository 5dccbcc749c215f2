# CoOp on a tiny, randomly initialised CLIP (tests and offline smoke runs).
tiny_clip = dict(
    embed_dim=32,
    quick_gelu=True,
    vision_cfg=dict(image_size=32, patch_size=8, width=64, layers=2,
                    head_width=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2,
                  layers=2),
)
model = dict(
    type='PromptClassifier',
    backbone=dict(type='CLIPBackbone', model_cfg=tiny_clip, pretrained=None),
    prompt_learner=dict(type='CoOp', n_ctx=4, logit_scale=100.),
    loss=dict(type='BCELoss'),
)
