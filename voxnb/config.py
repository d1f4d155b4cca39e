"""voxnb's global settings: ``voxnb.set_options(...)`` and ``voxnb.get_option(name)``.

A setting changed here applies to every later call in the process, and ``set_options`` used as a
context manager restores the previous values on exit. Each setting can also start from an
environment variable, read once when the setting is first needed.

=============  =======  ===================  =================================================
option         default  environment          meaning
=============  =======  ===================  =================================================
announce       True     ``VOXNB_ANNOUNCE``   say which backend answers, in one line (a small
                                             neutral line in a notebook, one stderr line in a
                                             terminal); ``quiet=True`` silences one call
=============  =======  ===================  =================================================
"""

from __future__ import annotations

import os
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["get_option", "set_options"]

_DEFAULTS: dict[str, Any] = {"announce": True}
_ENVIRONMENT = {"announce": "VOXNB_ANNOUNCE"}
_FALSE = {"0", "false", "no", "off", ""}

_options: dict[str, Any] = {}


def _from_environment(name: str) -> Any:
    value = os.environ.get(_ENVIRONMENT[name])
    if value is None:
        return _DEFAULTS[name]
    return value.strip().lower() not in _FALSE


def get_option(name: str) -> Any:
    """The current value of the setting *name*.

    Examples
    --------
    >>> get_option("announce") in (True, False)
    True
    """
    if name not in _DEFAULTS:
        raise ParameterError(f"unknown voxnb option {name!r}; the options are {', '.join(sorted(_DEFAULTS))}")
    if name not in _options:
        _options[name] = _from_environment(name)
    return _options[name]


class set_options:  # a class so that it also works as a context manager
    """Change voxnb's global settings; as a context manager, only inside the ``with`` block.

    Parameters
    ----------
    announce : bool, optional
        Whether :func:`voxnb.transcribe` and the other entry points say which backend answers.

    Examples
    --------
    >>> import voxnb
    >>> _ = voxnb.set_options(announce=False)     # from now on, no backend line
    >>> with voxnb.set_options(announce=True):    # only inside this block
    ...     voxnb.get_option("announce")
    True
    >>> voxnb.get_option("announce")
    False
    >>> _ = voxnb.set_options(announce=True)
    """

    def __init__(self, **options: Any):
        unknown = sorted(set(options) - set(_DEFAULTS))
        if unknown:
            raise ParameterError(
                f"unknown voxnb option(s) {unknown}; the options are {', '.join(sorted(_DEFAULTS))}"
            )
        for name, value in options.items():
            if not isinstance(value, bool):
                raise ParameterError(f"{name} must be True or False, got {value!r}", option=name)
        self._previous = {name: get_option(name) for name in options}
        _options.update(options)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: Any) -> None:
        _options.update(self._previous)

    def __repr__(self) -> str:
        return f"voxnb options: {', '.join(f'{k}={get_option(k)!r}' for k in sorted(_DEFAULTS))}"
