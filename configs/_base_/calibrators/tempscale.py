# Temperature scaling (post-hoc): one temperature fitted on held-out images
# of the base classes by CalibratorFitHook (see docs/calibrators.md).
calibrators = [dict(type='TemperatureScaling', per_class=False)]
