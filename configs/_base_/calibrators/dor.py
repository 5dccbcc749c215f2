# Dynamic Outlier Regularization: 64 WordNet nouns per iteration, drawn from
# the 5000 closest to the base classes, keep their zero-shot text features.
# Build the vocabulary once: python tools/misc/build_dor_vocab.py
calibrators = [
    dict(
        type='DOR',
        vocab_file='data/dor/wordnet_nouns.txt',
        loss_weight=8.0,  # the paper's λ for CoOp (2 for other learners)
        pool_size=5000,
        num_outliers=64),
]
