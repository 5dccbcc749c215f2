# The CCR paper's base-to-new grid (Tables 1, 2 and 4; Figs. 1-3 and 5 from
# its runs): every learner x {vanilla, +DAC, +DOR, +CCR} on the four
# base-to-new datasets, 16 shots, 5 seeds, ViT-B/16, the paper preset of the
# evaluation (a reconstruction, docs/metrics.md). Needs the CLIP weights, the
# datasets under $MMCCR_DATA (docs/datasets/) and the DOR vocabulary
# (python tools/misc/build_dor_vocab.py). docs/reproduce.md.
backbone = 'vit-b16'
datasets = ['coco14_base2new', 'voc07_base2new', 'nuswide_base2new',
            'oiv6_base2new']
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
