"""Install mmccr: ``pip install -e .`` (add ``[tests]`` for the test tools)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    """Read one requirements file, skipping comments and includes."""
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines
            if ln.strip() and not ln.startswith(('#', '-r'))]


version = {}
exec((HERE / 'mmccr' / 'version.py').read_text(), version)

setup(
    name='mmccr',
    version=version['__version__'],
    description='Calibrated multi-label recognition with CLIP prompt tuning',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(exclude=('tests', 'configs', 'tools')),
    # The toy world's tiny CLIP: its open_clip config and its weights.
    package_data={
        'mmccr.models.backbones.toyclip': ['*.json', '*.safetensors']
    },
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
    },
)
