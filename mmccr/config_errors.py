"""Config errors that say where and what: one translation for every registry.

mmengine builds every component through ``build_from_cfg``; when that fails
it raises a bare ``KeyError`` (unknown type) or the component's own
``TypeError`` (a typo'd argument), which name neither the config key nor
the alternatives. :func:`explain_build_errors` catches such an error, finds
the failing ``build_from_cfg`` call in its traceback (the config entry, the
registry searched, the class; also the optimizer constructor's own lookup
of ``optim_wrapper.optimizer.type``), locates that entry in the full config and
raises a :class:`ConfigError` naming the key path (e.g.
``model.learner.type``), the registry or component, what it accepts
and the closest match. It works the same for mmccr's registries and
mmengine's, and for components built by other components (the classifier's
prompt learner, losses and calibrators).
"""
import difflib
import inspect
import traceback
import types
import typing
from contextlib import contextmanager
from typing import (
    Any,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import Registry
from mmengine.registry.build_functions import build_from_cfg

Path = Tuple[Any, ...]  # config keys (str) and list indices (int)

CUSTOM_IMPORTS_HELP = (
    'A class outside the mmccr source tree is registered only once its '
    'module is imported: name the module in the config,\n'
    "    custom_imports = dict(imports=['my_package.my_module'], "
    'allow_failed_imports=False)\n'
    '(or --cfg-options "custom_imports.imports=[my_package.my_module]"), '
    'and make it importable by this Python (`pip install -e '
    '/path/to/my_package` or PYTHONPATH=/path/to/parent). See '
    'docs/adding_components.md, "Out-of-tree components".')


class ConfigError(Exception):
    """A config entry that cannot be built; the message says where and why.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class UnknownTypeError(ConfigError, KeyError):
    """A ``type`` that the registry does not know."""


class ConfigArgumentError(ConfigError, TypeError):
    """An argument the component does not accept, or of the wrong type."""


def format_path(path: Optional[Path]) -> str:
    """A key path as written in configs: ``model.calibrators[0].type``."""
    if path is None:
        return '<unknown config key>'
    text = ''
    for key in path:
        text += f'[{key}]' if isinstance(key, int) else (
            f'.{key}' if text else str(key))
    return text


def _nodes(tree: Any, path: Path = ()) -> Iterator[Tuple[Path, Any]]:
    """Every dict and list of a config tree, with its path."""
    if isinstance(tree, Mapping):
        yield path, tree
        for key, value in tree.items():
            yield from _nodes(value, path + (key, ))
    elif isinstance(tree, (list, tuple)):
        for index, value in enumerate(tree):
            yield from _nodes(value, path + (index, ))


def locate(tree: Any,
           target: Mapping,
           skip_root: bool = False) -> Optional[Tuple[Path, Mapping]]:
    """The entry of ``tree`` that ``target`` (a built config) came from.

    Candidates have the same ``type``; the object itself wins, then the one
    sharing the most ``key: value`` items (the builder may have added
    defaults to its copy).

    Args:
        tree: a config or part of one.
        target: the config entry that was built.
        skip_root (bool): only look below ``tree`` itself.

    Returns:
        The entry's path relative to ``tree`` and the entry, or None.
    """
    best, best_score = None, None
    for path, node in _nodes(tree):
        if (skip_root and not path) or node.get('type', None) is None \
                or not _equal(node.get('type'), target.get('type')):
            continue
        if node is target:
            return path, node
        score = sum(1 for key, value in target.items()
                    if key in node and _equal(node[key], value))
        if best_score is None or score > best_score:
            best, best_score = (path, node), score
    return best


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # tensors and other values without a plain ==
        return a is b


class _Build(NamedTuple):
    """One build call found in a traceback."""
    cfg: Any  # the config entry being built
    registry: Any  # the registry searched (after the scope switch)
    obj_type: Any
    obj_cls: Any  # None until the type was found
    args: Mapping  # the arguments passed to the class


def _build_calls(exc: BaseException) -> List[_Build]:
    """The builds an exception went through, outermost first.

    Those are mmengine's ``build_from_cfg`` calls, and the optimizer
    wrapper constructor's own lookup of ``optimizer.type``.
    """
    calls = []
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        local = frame.f_locals
        if frame.f_code is build_from_cfg.__code__:
            calls.append(
                _Build(local.get('cfg'), local.get('registry'),
                       local.get('obj_type'), local.get('obj_cls'),
                       local.get('args', {})))
        elif frame.f_code is DefaultOptimWrapperConstructor.__call__.__code__:
            cfg = local['self'].optimizer_cfg
            calls.append(
                _Build(cfg, local.get('registry'), cfg.get('type'),
                       local.get('optimizer_cls'), {}))
    return calls


def _known_names(registry: Registry) -> Tuple[List[str], List[str]]:
    """Names of ``registry`` itself and of its ancestors."""
    own = sorted(registry.module_dict)
    inherited, parent = set(), registry.parent
    while parent is not None:
        inherited.update(parent.module_dict)
        parent = parent.parent
    return own, sorted(inherited - set(own))


def closest(name: str, candidates: Sequence[str]) -> List[str]:
    """Up to three candidates close to ``name`` (case-insensitive first)."""
    same_case = [c for c in candidates if c.lower() == name.lower()]
    by_lower = {c.lower(): c for c in candidates}
    near = difflib.get_close_matches(name.lower(), list(by_lower), n=3,
                                     cutoff=0.6)
    return list(dict.fromkeys(same_case + [by_lower[n] for n in near]))[:3]


def _suggestion(name: str, candidates: Sequence[str]) -> str:
    near = closest(name, candidates)
    if not near:
        return 'No known name is close to it.'
    return 'Did you mean ' + ' or '.join(repr(n) for n in near) + '?'


def _registry_name(registry: Registry) -> str:
    return f'{registry.scope}::{registry.name}'


def unknown_type_message(obj_type: str, key: str,
                         registry: Registry) -> str:
    """What an unknown ``type`` gets: registry, key, names, where looked."""
    own, inherited = _known_names(registry)
    locations = getattr(registry, '_locations', []) or []
    looked = ', '.join(f'every module under {loc}' for loc in locations)
    lines = [
        f'{key} = {obj_type!r}: no such name in the '
        f'{_registry_name(registry)} registry. '
        f'{_suggestion(obj_type, own + inherited)}',
        f'Known names: {", ".join(own) or "(none)"}.',
    ]
    if inherited:
        parent = registry.parent
        lines.append(f'Also known from {_registry_name(parent)} and above: '
                     f'{", ".join(inherited)}.')
    lines.append('Looked in: ' + (looked or 'the registered classes only') +
                 ', and the modules of the config\'s custom_imports.')
    lines.append(CUSTOM_IMPORTS_HELP)
    return '\n'.join(lines)


def _describe_parameters(params: Mapping[str, inspect.Parameter]) -> str:
    parts = []
    for param in params.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        parts.append(param.name if param.default is param.empty else
                     f'{param.name}={param.default!r}')
    return ', '.join(parts) or '(no arguments)'


def _accepted(obj_cls: Any) -> Optional[Mapping[str, inspect.Parameter]]:
    try:
        return inspect.signature(obj_cls).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return None


def argument_message(obj_cls: Any, args: Mapping, where: Path,
                     registry: Registry) -> Optional[str]:
    """Unexpected, missing or mistyped arguments of ``obj_cls(**args)``.

    Returns None when the arguments fit the signature and the annotations.
    """
    params = _accepted(obj_cls)
    if params is None:
        return None
    name = getattr(obj_cls, '__name__', str(obj_cls))
    head = (f'{format_path(where)} ({name}, '
            f'{_registry_name(registry)} registry)')
    accepts = f'{name} accepts: {_describe_parameters(params)}.'
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
    named = [
        p for p in params
        if params[p].kind not in (params[p].VAR_POSITIONAL,
                                  params[p].VAR_KEYWORD)
    ]
    unexpected = [] if var_kw else [k for k in args if k not in params]
    if unexpected:
        lines = [
            f'{head}: unexpected argument {format_path(where + (key, ))}. '
            f'{_suggestion(key, named)}' for key in unexpected
        ]
        return '\n'.join(lines + [accepts])
    missing = [
        p for p in named if params[p].default is params[p].empty
        and p not in args and params[p].kind != params[p].POSITIONAL_ONLY
    ]
    if missing:
        return (f'{head}: missing required argument(s) '
                f'{", ".join(format_path(where + (m, )) for m in missing)}.\n'
                f'{accepts}')
    return type_message(obj_cls, args, where, registry)


def type_message(obj_cls: Any, args: Mapping, where: Path,
                 registry: Registry) -> Optional[str]:
    """Arguments whose values do not fit ``obj_cls``'s annotations, or None.
    """
    hints = _type_hints(obj_cls)
    wrong = [(key, value, hints[key]) for key, value in args.items()
             if key in hints and not matches(value, hints[key])]
    if not wrong:
        return None
    name = getattr(obj_cls, '__name__', str(obj_cls))
    params = _accepted(obj_cls) or {}
    lines = [
        f'{format_path(where)} ({name}, {_registry_name(registry)} '
        f'registry): {format_path(where + (key, ))} = {value!r} is a '
        f'{type(value).__name__}, {name} expects {_hint_name(hint)}.'
        for key, value, hint in wrong
    ]
    return '\n'.join(lines +
                     [f'{name} accepts: {_describe_parameters(params)}.'])


def check_value_types(cfg: Mapping) -> None:
    """Stop on a config value of the wrong type, before anything is built.

    Every entry whose ``type`` names a class of exactly one mmccr registry
    (mmccr's own components and out-of-tree ones registered there) has its
    values checked against that class's annotations (leniently, see
    :func:`matches`). Entries of mmengine's classes are not checked.

    Args:
        cfg: the full config (an mmengine ``Config`` or a dict).

    Raises:
        ConfigArgumentError: naming the key path, the component, the
            expected type and the accepted arguments.
    """
    from mmccr import registry as registries  # the registries import us
    tree = cfg if isinstance(cfg, Mapping) else cfg.to_dict()
    index: dict = {}
    for registry in vars(registries).values():
        if isinstance(registry, registries.MMCCRRegistry):
            registry.import_from_location()
            for name, cls in registry.module_dict.items():
                index.setdefault(name, []).append((registry, cls))
    for path, node in _nodes(tree):
        found = index.get(node.get('type')) if isinstance(
            node.get('type'), str) else None
        if not found or len(found) != 1:
            continue
        registry, cls = found[0]
        args = {k: v for k, v in node.items() if k not in ('type', '_scope_')}
        message = type_message(cls, args, path, registry)
        if message is not None:
            raise ConfigArgumentError(message)


def _type_hints(obj_cls: Any) -> dict:
    target = obj_cls.__init__ if inspect.isclass(obj_cls) else obj_cls
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable forward references
        return {}


def _hint_name(hint: Any) -> str:
    return getattr(hint, '__name__', None) or str(hint).replace('typing.', '')


def matches(value: Any, hint: Any) -> bool:
    """Whether a config value fits a type hint (leniently).

    Config values are plain: a dict may stand for any component built from
    it, a list for a tuple; element types are not checked. Hints that are
    not understood accept everything.
    """
    if hint is Any or isinstance(hint, (typing.TypeVar, str)):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(types, 'UnionType', ()):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    cls = origin if origin is not None else hint
    if not inspect.isclass(cls):
        return True
    if cls is type(None):
        return value is None
    if cls is float:
        return isinstance(value, (int, float))
    if cls in (list, tuple) or cls.__name__ == 'Sequence':
        return isinstance(value, (list, tuple)) or isinstance(value, cls)
    if isinstance(value, Mapping) and not issubclass(cls, Mapping):
        return True  # a config dict built into the component later
    try:
        return isinstance(value, cls)
    except TypeError:  # generic aliases isinstance cannot check
        return True


def explain(exc: BaseException, cfg: Mapping) -> Optional[ConfigError]:
    """The :class:`ConfigError` for a failed build, or None.

    Args:
        exc: the exception raised while building from ``cfg``.
        cfg: the full config the run was built from.

    Returns:
        The explanation when ``exc`` is an unknown type or an argument
        that does not fit; None for other failures (their traceback then
        gets a note naming the config entry, where Python supports notes).
    """
    calls = _build_calls(exc)
    if not calls:
        return None
    if not isinstance(cfg, Mapping):  # an mmengine Config
        cfg = cfg.to_dict()
    path: Optional[Path] = None
    scope: Any = None
    for call in calls:  # outermost first: nested builds are below
        target = call.cfg
        found = None
        if isinstance(target, Mapping) and scope is not None:
            found = locate(scope, target, skip_root=True)
            if found is not None:
                path, scope = path + found[0], found[1]
        if isinstance(target, Mapping) and found is None:
            found = locate(cfg, target)
            if found is not None:
                path, scope = found
        if found is None:
            path, scope = None, None
    registry, obj_type, obj_cls, args = calls[-1][1:]
    if not isinstance(registry, Registry):
        return None
    if obj_cls is None and isinstance(obj_type, str) and isinstance(
            exc, (KeyError, RuntimeError, TypeError)):
        return UnknownTypeError(
            unknown_type_message(obj_type, format_path(
                None if path is None else path + ('type', )), registry))
    if obj_cls is not None:
        message = argument_message(obj_cls, args,
                                   path if path is not None else
                                   ('<unknown config key>', ), registry)
        if message is not None:
            return ConfigArgumentError(f'{message}\n(The error raised: '
                                       f'{type(exc).__name__}: {exc})')
        if hasattr(exc, 'add_note'):
            exc.add_note(f'(raised while building {format_path(path)}: '
                         f'{getattr(obj_cls, "__name__", obj_cls)})')
    return None


@contextmanager
def explain_build_errors(cfg: Mapping) -> Iterator[None]:
    """Check value types, then re-raise build failures as :class:`ConfigError`.

    Wrap the building and running of a config (``Runner.from_cfg(cfg)``
    and ``runner.train()``) in it; other errors pass unchanged. Values of
    the wrong type for mmccr components stop before the block runs
    (:func:`check_value_types`).

    Args:
        cfg: the full config, to find the failing entry's key path in.
    """
    check_value_types(cfg)
    try:
        yield
    except ConfigError:
        raise
    except Exception as exc:
        error = explain(exc, cfg)
        if error is None:
            raise
        raise error from exc
