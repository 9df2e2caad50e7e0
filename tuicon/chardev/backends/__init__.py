"""Backend types; importing this package registers them all."""

from . import file, null, pipe, pty, ringbuf, serial, socket, udp, vc  # noqa: F401
from .. import mux, mux_be  # noqa: F401
