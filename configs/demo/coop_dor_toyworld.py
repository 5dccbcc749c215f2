# Demo: CoOp + BCE + DOR (train-time) on the toy world, 16-shot base.
_base_ = [
    '../_base_/models/coop_toyclip.py',
    '../_base_/datasets/toyworld_base2new.py',
    '../_base_/schedules/sgd_cos_toyworld.py',
]
# A seeded sample of 5000 WordNet nouns keeps the pool cheap on a CPU:
# python tools/misc/build_dor_vocab.py --sample 5000 --out <file>
model = dict(calibrators=[
    dict(type='DOR', vocab_file='configs/demo/dor_vocab_5k.txt',
         loss_weight=8.0, pool_size=1000, num_outliers=64)
])
