# Frozen CLIP RN50 with the OpenAI weights (QuickGELU), open_clip; dense
# features come from the attention pool's value projection (DualCoOp,
# TaI-DPT).
backbone = dict(
    type='CLIPBackbone',
    model_name='RN50-quickgelu',
    pretrained='openai',  # or a local open_clip_pytorch_model.bin
    templates=['a photo of a {}.'])
