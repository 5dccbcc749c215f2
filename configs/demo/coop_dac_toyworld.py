# Demo: CoOp + BCE + DAC (post-hoc) on the toy world, 16-shot base.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/coop.py',
    '../_base_/calibrators/dac.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
learner = dict(n_ctx=4, ctx_init='a photo of a')
