"""Plots of evaluation results."""
from .reliability import plot_reliability_diagram, plot_results

__all__ = ['plot_reliability_diagram', 'plot_results']
