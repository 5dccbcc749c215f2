# The toy world for T2I-PAL: training on images *generated* from 16 shots
# per base class of the training captions (ToyWorldGenerated: the renderer
# draws the objects a caption names in a new scene; labels from the
# caption), evaluation on the test images. `reference_dataloader` (PIECE,
# held-out calibration images) is the real 16-shot image sample, as for
# every learner.
_base_ = ['./toyworld_captions_base2new.py']
train_dataloader = dict(
    dataset=dict(type='ToyWorldGenerated', pipeline=_base_.train_pipeline))
