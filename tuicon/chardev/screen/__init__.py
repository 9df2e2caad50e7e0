"""Terminal screen models for the vc, behind one interface (:class:`ScreenModel`).

``pyte`` is the default and always installed; ``ghostty`` (libghostty-vt)
is an optional extra, about a hundred times faster.  :func:`make_engine`
picks one by name; ``auto`` takes ghostty when it imports.
"""

from __future__ import annotations

import importlib

from .base import Cell, Colour, DEFAULT_PEN, MAX_LINE_RUNS, Pen, Reply, Run, ScreenModel

ENGINES = ("pyte", "ghostty", "auto")
GHOSTTY_MISSING = ("vc engine 'ghostty' needs the pyghostty package: "
                   "install it with pip install 'tuicon[ghostty]' (or use engine=pyte)")


def ghostty_available() -> bool:
    """Whether the ghostty engine imports here (pyghostty and its library load)."""
    try:
        importlib.import_module(f"{__name__}.ghostty_engine")
    except (ImportError, OSError):  # not installed, or its shared library does not load
        return False
    return True


def resolve_engine(name: str) -> str:
    """``auto`` as the engine it stands for; ``ghostty`` refused when it cannot load."""
    if name == "auto":
        return "ghostty" if ghostty_available() else "pyte"
    if name == "ghostty" and not ghostty_available():
        raise ModuleNotFoundError(GHOSTTY_MISSING)
    return name


def make_engine(name: str, cols: int, rows: int, scrollback: int, reply: Reply) -> ScreenModel:
    """A screen model of engine ``name`` (``pyte``, ``ghostty`` or ``auto``)."""
    name = resolve_engine(name)
    if name == "ghostty":
        from .ghostty_engine import GhosttyEngine
        return GhosttyEngine(cols, rows, scrollback, reply)
    from .pyte_engine import PyteEngine
    return PyteEngine(cols, rows, scrollback, reply)


__all__ = ["Cell", "Colour", "DEFAULT_PEN", "ENGINES", "GHOSTTY_MISSING", "MAX_LINE_RUNS", "Pen", "Reply",
           "Run", "ScreenModel", "ghostty_available", "make_engine", "resolve_engine"]
