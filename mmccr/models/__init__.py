"""Models: frozen backbones, prompt learners and classifiers."""
from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .prompt_learners import *  # noqa: F401,F403
