# Offline smoke run: CoOp + BCE + DOR on generated shapes, tiny random CLIP.
_base_ = [
    '../_base_/backbones/tiny-clip.py',
    '../_base_/learners/coop.py',
    '../_base_/datasets/shapes_base2new.py',
    '../_base_/schedules/sgd_cos_shapes.py',
]
learner = dict(n_ctx=4)
calibrators = [
    dict(type='DOR', vocab_file='configs/demo/dor_vocab_5k.txt',
         loss_weight=8.0, pool_size=1000, num_outliers=64)
]
