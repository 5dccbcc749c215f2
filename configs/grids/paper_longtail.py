# The CCR paper's long-tail grid (Table 3: ECE on head / medium / tail / new
# classes): every learner x {vanilla, +DAC, +DOR, +CCR} on COCO-LT and VOC-LT,
# 16 shots, 5 seeds, ViT-B/16, the paper preset (a reconstruction).
# Needs the CLIP weights, COCO and VOC under $MMCCR_DATA with the LT splits
# (docs/datasets/longtail.md) and the DOR vocabulary. docs/reproduce.md.
backbone = 'vit-b16'
datasets = ['cocolt_base2new', 'voclt_base2new']
schedule = 'sgd_cos_10e'
evaluation = 'paper'
learners = [
    dict(name='ZSCLIP', base='zeroshot'),
    dict(name='CoOp', base='coop'),
    dict(name='CoCoOp', base='cocoop'),
    dict(name='KgCoOp', base='kgcoop'),
    dict(name='DualCoOp', base='dualcoop'),
]
calibrators = ['none', 'dac', 'dor', 'ccr']
exclude = [dict(learners='ZSCLIP', calibrators=['dac', 'dor', 'ccr'])]
shots = [16]
seeds = [1, 2, 3, 4, 5]
