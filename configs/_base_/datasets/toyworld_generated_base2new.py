# The toy world for T2I-PAL: training on images *generated* from 16 shots
# per base class of the training captions (ToyWorldGenerated: the renderer
# draws the objects a caption names in a new scene; labels from the
# caption), each packed with its caption; evaluation on the test images.
# `reference_dataloader` (PIECE, held-out calibration images) is the real
# 16-shot image sample, as for every learner.
_base_ = ['./toyworld_captions_base2new.py']
train_dataloader = dict(
    dataset=dict(
        type='ToyWorldGenerated',
        pipeline=[
            dict(type='LoadImage'),
            dict(type='Resize', size=32, interpolation='bilinear'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackImageCaption'),  # the image and its caption
        ]))
