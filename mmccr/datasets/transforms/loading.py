"""Image loading."""
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from mmccr.registry import TRANSFORMS

from .base import BaseTransform


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load ``img_path`` (or take the in-memory ``img``) as RGB.

    Sets ``img`` to a uint8 tensor ``(3, H, W)``. A missing or unreadable
    file raises an error that names it.
    """

    def transform(self, results: dict) -> dict:
        """Load the image of one sample."""
        img = results.get('img')
        if img is None:
            path = results['img_path']
            try:
                with Image.open(path) as pil:
                    img = np.array(pil.convert('RGB'))  # writable copy
            except FileNotFoundError as err:
                raise FileNotFoundError(f'Image file {path!r} not found.') \
                    from err
            except (UnidentifiedImageError, OSError) as err:
                raise OSError(f'Cannot read image {path!r}: {err}') from err
        elif isinstance(img, Image.Image):
            img = np.array(img.convert('RGB'))
        if isinstance(img, np.ndarray):
            img = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
        results['img'] = img
        results['ori_shape'] = tuple(img.shape[1:])
        return results
