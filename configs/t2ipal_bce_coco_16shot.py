# T2I-PAL + BCE per branch on MS-COCO 2014: prompts, visual adapter
# and prototypes trained on images generated from 16 shots per base class of
# the train2014 captions, ViT-B/16; evaluated on the val2014 images.
_base_ = [
    '_base_/backbones/vit-b16.py',
    '_base_/learners/t2ipal.py',
    '_base_/calibrators/none.py',
    '_base_/datasets/coco14_generated_base2new.py',
    '_base_/schedules/sgd_cos_10e.py',
    '_base_/default_runtime.py',
]
learner = dict(num_classes=40)
loss = dict(type='BCELoss')
