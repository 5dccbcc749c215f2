# CoOp + ranking loss (TaI-DPT's pairwise hinge) on MS-COCO 2014, 16 shots.
_base_ = [
    '_base_/models/coop_vit-b16.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/coco14_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
model = dict(loss=dict(type='RankingLoss', margin=1., scale=1.),
             calibrators=_base_.calibrators)
