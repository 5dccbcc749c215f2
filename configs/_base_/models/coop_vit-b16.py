# CoOp on frozen CLIP ViT-B/16 with the OpenAI weights (QuickGELU).
model = dict(
    type='PromptClassifier',
    backbone=dict(
        type='CLIPBackbone',
        model_name='ViT-B-16-quickgelu',
        pretrained='openai',  # or a local open_clip_pytorch_model.bin
        templates=['a photo of a {}.']),
    prompt_learner=dict(
        type='CoOp',
        n_ctx=16,
        ctx_init=None,  # e.g. 'a photo of a'
        class_specific=False,
        class_token_position='end',
        logit_scale=100.),
    loss=dict(type='BCELoss'),
)
