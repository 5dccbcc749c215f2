# Demo: CoCoOp + BCE on the toy world, 16-shot base.
_base_ = [
    '../_base_/backbones/toyclip.py',
    '../_base_/learners/cocoop.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
