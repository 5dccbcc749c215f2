# Demo: CoOp + BCE + DAC (post-hoc) on the toy world, 16-shot base.
_base_ = [
    '../_base_/models/coop_toyclip.py',
    '../_base_/calibrators/dac.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
model = dict(calibrators=_base_.calibrators)
