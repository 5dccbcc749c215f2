# Offline smoke run: CoOp + BCE + DOR on generated shapes, tiny random CLIP.
_base_ = [
    '../_base_/models/coop_tiny-clip.py',
    '../_base_/datasets/shapes_base2new.py',
    '../_base_/schedules/sgd_cos_10e.py',
    '../_base_/default_runtime.py',
]
# A seeded sample of 5000 WordNet nouns keeps the pool cheap on a CPU:
# python tools/misc/build_dor_vocab.py --sample 5000 --out <file>
model = dict(calibrators=[
    dict(type='DOR', vocab_file='configs/demo/dor_vocab_5k.txt',
         loss_weight=8.0, pool_size=1000, num_outliers=64)
])
train_cfg = dict(max_epochs=4, val_interval=2)
default_hooks = dict(logger=dict(interval=5))
