"""Registering mmccr's modules outside the Runner (notebooks, scripts)."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmccr module so that all registrations run.

    Args:
        init_default_scope (bool): also make ``'mmccr'`` the default scope.
            Defaults to True.
    """
    import mmccr.calibrators  # noqa: F401
    import mmccr.datasets  # noqa: F401
    import mmccr.engine  # noqa: F401
    import mmccr.evaluation  # noqa: F401
    import mmccr.losses  # noqa: F401
    import mmccr.models  # noqa: F401
    if not init_default_scope:
        return
    if DefaultScope.get_current_instance() is None or \
            not DefaultScope.check_instance_created('mmccr'):
        DefaultScope.get_instance('mmccr', scope_name='mmccr')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'mmccr':
        warnings.warn(f'The current default scope {current.scope_name!r} is '
                      "not 'mmccr'; creating a new 'mmccr' scope.",
                      stacklevel=2)
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S%f')
        DefaultScope.get_instance(f'mmccr-{stamp}', scope_name='mmccr')
