# CoOp + BCE on NUS-WIDE, 16 shots of the base classes, ViT-B/16.
# Shots K in {1, 2, 4, 8, 16} and seeds 1-5: --cfg-options
# train_dataloader.dataset.num_shots=8 train_dataloader.dataset.seed=3
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/coop.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/nuswide_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
