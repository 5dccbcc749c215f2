# Demo: CoOp + ranking loss (TaI-DPT) on the toy world, 16-shot base.
_base_ = [
    '../_base_/models/coop_toyclip.py',
    '../_base_/calibrators/none.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
model = dict(loss=dict(type='RankingLoss', margin=1., scale=1.),
             calibrators=_base_.calibrators)
