# The CCR paper's table layout under the most plausible reading of its
# evaluation (docs/metrics.md, Conventions). A reconstruction: the paper's
# Appendix B, which would settle it, is not public. The principled default
# stays in the dataset configs (sigmoid, binary mode, HM and Avg).
#
# Use it in a leaf config after a dataset base:
#   _base_ = [..., '../_base_/evaluation/paper.py']
#   val_evaluator = {{_base_.paper_evaluator}}
#   test_evaluator = val_evaluator
# and compare with `--groups base new Avg`.
paper_note = (
    "Paper preset: a reconstruction of the CCR paper's evaluation (its "
    'Appendix B is not public). Choices: the DAC evaluator reading '
    "(softmax over a group's classes, top-1 confidence, correct = top-1 in "
    'Y), DAC-code bins (10, count-weighted MCE, equal-mass ACE, PIECE 10x10 '
    'with k = 5), Avg = arithmetic mean of base and new as in its tables.')
paper_groups = ('base', 'new', 'Avg', 'head', 'medium', 'tail')
paper_evaluator = [
    dict(type='MultiLabelRecognition', threshold=0.5,
         items=('mAP', 'top1_acc', 'positive_acc'), groups=paper_groups,
         note=paper_note),
    dict(type='MultiLabelCalibration', mapping='dac', n_bins=10,
         items=('ECE', 'ACE', 'MCE', 'PIECE'), mce_weighted=True,
         ace_variant='adaptive', k=5, n_prox_bins=10, groups=paper_groups,
         note=paper_note),
]
