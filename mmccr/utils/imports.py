"""Importing modules so that their registrations run."""
import pkgutil
from importlib import import_module
from typing import List, Union


def import_package_modules(package: str) -> List[str]:
    """Import ``package`` and every module below it, recursively.

    Args:
        package (str): dotted name of a package (or of a plain module,
            which is just imported).

    Returns:
        list[str]: the dotted names imported below ``package``.
    """
    root = import_module(package)
    names = []
    for info in pkgutil.walk_packages(
            getattr(root, '__path__', []), prefix=f'{package}.'):
        if info.name.rsplit('.', 1)[-1] == '__main__':
            continue
        import_module(info.name)
        names.append(info.name)
    return names


def import_custom_modules(custom_imports: Union[dict, None]) -> None:
    """Import the modules of a config's ``custom_imports``, loudly.

    mmengine imports ``custom_imports`` only while reading a config file, so
    an entry added later (``--cfg-options custom_imports.imports=[...]``)
    would be ignored; calling this after the options are merged imports it.
    A module that cannot be imported stops the run with what to do, unless
    ``allow_failed_imports=True``.

    Args:
        custom_imports (dict, optional): ``dict(imports=[...],
            allow_failed_imports=False)``; a single string is accepted for
            ``imports``.
    """
    if not custom_imports:
        return
    imports = custom_imports.get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)):
        raise TypeError(
            'custom_imports.imports must be a module name or a list of '
            f'module names, got {imports!r} ({type(imports).__name__})')
    for name in imports:
        try:
            import_module(name)
        except ImportError as exc:
            if custom_imports.get('allow_failed_imports', False):
                continue
            raise ImportError(
                f'custom_imports: cannot import {name!r} ({exc}). The module '
                'must be importable by the Python that runs mmccr: install '
                'its package (`pip install -e /path/to/your_package`) or put '
                'the folder that contains it on PYTHONPATH '
                '(`PYTHONPATH=/path/to/parent:$PYTHONPATH`).') from exc
