# A tiny, randomly initialised CLIP (tests and offline smoke runs); its
# logit scale starts at CLIP's 100.
tiny_clip = dict(
    embed_dim=32,
    quick_gelu=True,
    init_logit_scale=4.605170185988092,  # log(100)
    vision_cfg=dict(image_size=32, patch_size=8, width=64, layers=2,
                    head_width=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2,
                  layers=2),
)
backbone = dict(type='CLIPBackbone', model_cfg=tiny_clip, pretrained=None)
