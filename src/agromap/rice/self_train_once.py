"""The lazy optical arrays one self-trained rule run reads many times, built once per run.

:func:`~agromap.rice.self_train_rule.run_rule` applies a dozen label steps to the same optical
stack, each reading its clear-date mask, NDVI and LSWI
(:func:`~agromap.rice.self_train_clear.clear_indices`), among them the optical rule's clear-sky
gap (:func:`~agromap.rice.self_train_labels.longest_clear_gap`). Each is the same lazy graph every
time; building it again costs graph-build time (about a second per call on a large area), not
results; so do the series'-ends steps' masks several steps read (:func:`built_once`). Within
:func:`one_run`, :func:`once` returns the array built by the first call on the same input objects;
outside it, it builds every time. The memo is dropped when the run ends, and it holds its input
objects, so no other object can take their ids while it lives.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

__all__ = ["built_once", "once", "one_run"]

T = TypeVar("T")
P = ParamSpec("P")

_MEMO: ContextVar[dict[tuple[Any, ...], tuple[Any, Any]] | None] = ContextVar("self_train_once", default=None)


@contextmanager
def one_run() -> Iterator[None]:
    """The scope of one rule run: :func:`once` builds each array once inside it (nested: the outer run's)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def once(kind: str, inputs: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()``, or within :func:`one_run` the result of the first call of this ``kind`` on the same
    ``inputs`` (the same objects: compared by identity, an xarray Dataset also by the identity of each of
    its variables, so that a variable replaced in place is a new input; numbers, strings and frozen
    parameter dataclasses by value).
    """
    memo = _MEMO.get()
    if memo is None:
        return build()
    held = tuple((x, tuple(x.variables.values())) if hasattr(x, "data_vars") else x for x in inputs)
    key = (kind, *(_identity(x) for x in held))
    if key not in memo:
        memo[key] = (held, build())  # the inputs are held: their ids stay theirs for the run
    return memo[key][1]


def built_once(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` whose result, within :func:`one_run`, is built once per set of arguments (as :func:`once`
    compares them; a keyword argument passed by position is another set).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        named = tuple(v for kv in sorted(kwargs.items()) for v in kv)
        return once(fn.__qualname__, (*args, *named), lambda: fn(*args, **kwargs))

    return wrapper


def _identity(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_identity(v) for v in x)
    if x is None or isinstance(x, int | float | str | bool):
        return (type(x).__name__, x)
    if dataclasses.is_dataclass(x) and getattr(x, "__dataclass_params__").frozen:
        try:  # frozen parameters: equal values are the same input
            hash(x)
            return (type(x).__name__, x)
        except TypeError:
            pass
    return id(x)
