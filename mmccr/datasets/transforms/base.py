"""Minimal transform base (mmengine's ``Compose`` calls any callable)."""


class BaseTransform:
    """A pipeline step: takes and returns a result dict."""

    def __call__(self, results: dict) -> dict:
        return self.transform(results)

    def transform(self, results: dict) -> dict:
        """Transform one sample's result dict."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'
