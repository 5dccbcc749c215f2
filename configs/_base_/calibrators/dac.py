# Distance-Aware Calibration (post-hoc, nothing trained): each class's logit
# times exp(mean d_zero-shot - mean d_tuned) over its 5 nearest base classes.
calibrators = [
    dict(type='DAC', k=5, base_guard=True, guard_threshold=0.05),
]
