# Demo: CoOp + BCE + DOR on the toy world, 16-shot base.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/coop.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
learner = dict(n_ctx=4, ctx_init='a photo of a')
calibrators = [
    dict(type='DOR', vocab_file='configs/demo/dor_vocab_5k.txt',
         loss_weight=8.0, pool_size=1000, num_outliers=64)
]
