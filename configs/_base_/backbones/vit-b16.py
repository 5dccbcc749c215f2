# Frozen CLIP ViT-B/16 with the OpenAI weights (QuickGELU), open_clip.
backbone = dict(
    type='CLIPBackbone',
    model_name='ViT-B-16-quickgelu',
    pretrained='openai',  # or a local open_clip_pytorch_model.bin
    templates=['a photo of a {}.'])
