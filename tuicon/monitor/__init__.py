"""Monitors: QMP (``mode=control``) and the readline monitor, on any chardev."""

from .manager import MonitorManager

__all__ = ["MonitorManager"]
