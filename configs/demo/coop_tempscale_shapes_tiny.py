# Offline smoke run: CoOp + BCE + temperature scaling (post-hoc) on
# generated shapes, tiny random CLIP.
_base_ = [
    '../_base_/backbones/tiny-clip.py',
    '../_base_/learners/coop.py',
    '../_base_/calibrators/tempscale.py',
    '../_base_/datasets/shapes_base2new.py',
    '../_base_/schedules/sgd_cos_shapes.py',
]
learner = dict(n_ctx=4)
