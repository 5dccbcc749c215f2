# Class-wise Covariance Regularization on jointly negative class pairs.
calibrators = [
    dict(
        type='CCR',
        # lambda is not given by the paper; see docs/calibrators.md
        loss_weight=1e-3,
        pairs='joint_negative',
        reduction='sum',
        eps=1e-6,
        global_batch=False),
]
