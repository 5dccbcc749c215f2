"""Utilities."""
from .dist import all_gather_with_grad
from .io import atomic_write_bytes, atomic_write_json
from .setup_env import register_all_modules

__all__ = [
    'all_gather_with_grad', 'atomic_write_bytes', 'atomic_write_json',
    'register_all_modules'
]
