"""mmengine metrics, registered in ``METRICS``."""
from .base import MultiLabelMetricBase
from .calibration import MultiLabelCalibration
from .recognition import MultiLabelRecognition

__all__ = [
    'MultiLabelCalibration', 'MultiLabelMetricBase', 'MultiLabelRecognition'
]
