"""An incremental JSON streamer for QMP, after QEMU's json-lexer.c and json-streamer.c.

Input is a byte stream of top-level JSON values with no framing.  The
streamer follows it byte by byte (strings, escapes, nesting depth), but
jumps over uninteresting runs with compiled regular expressions, so every
byte is looked at a constant number of times: a read never re-scans what
came before.  The bytes of one value are collected and, once the value is
complete, parsed with ``json.loads`` and checked as strictly as QEMU's
parser (duplicate keys, non-finite numbers and lone surrogates are errors).

QEMU's limits and recovery:

* nesting deeper than 1024 -> ``JSON nesting depth limit exceeded``;
* a value over 64 MiB -> ``JSON token size limit exceeded``;
* a byte that cannot start a token -> ``JSON parse error, stray 'X'``;
* after any error the rest of the broken value is skipped (depth and
  strings are still followed, nothing is stored) and parsing resumes at the
  next top-level value;
* a 0xFE or 0xFF byte (never valid UTF-8) resets the streamer at once, and
  so does a raw newline inside a string that is being skipped.

Error texts are QEMU's (``JSON parse error, expecting value``, ...).
Bytes are decoded as UTF-8 only once a value is complete, so a character
split across reads decodes correctly.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
from collections.abc import Iterator
from enum import Enum
from typing import Any

MAX_DEPTH = 1024
MAX_SIZE = 64 << 20

_WHITESPACE = re.compile(rb"[ \t\r\n]*")
# Inside a container, bytes that end a run of brackets and plain tokens: quotes, strays.
_VALUE_STOP = re.compile(rb"[^ \t\r\n,:0-9a-zE+\-.{}\[\]]")
_SKIP_STOP = re.compile(rb'["\xfe\xff]')
_BRACKETS = re.compile(rb"[{}\[\]]")
_STRING_STOP = re.compile(rb'["\x00-\x1f\xfe\xff]')
_SCALAR = re.compile(rb"[-+.0-9a-zA-Z]*")
_SKIP_SCALAR = re.compile(rb'[^\x00-\x20,:{}\[\]"\xfe\xff]*')
_SCALAR_START = frozenset(b"-0123456789abcdefghijklmnopqrstuvwxyz")
_RESYNC = frozenset(b"\xfe\xff")
_OPEN = frozenset(b"{[")

# Python's json messages in QEMU's words (qobject/json-parser.c).
_MESSAGES = {
    "Expecting value": "expecting value",
    "Expecting ':' delimiter": "missing : in object pair",
    "Expecting property name enclosed in double quotes": "key is not a string in object",
    "Invalid \\escape": "invalid escape sequence in string",
    "Invalid \\uXXXX escape": "invalid escape sequence in string",
    "Unterminated string starting at": "premature EOI",
    "Extra data": "expecting value",
}
_LONE_SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
_CONTAINER_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class JsonError(ValueError):
    """One bad value (or stray byte); ``str()`` is the QMP error text."""


class _Mode(Enum):
    IDLE = "idle"  # between top-level values
    VALUE = "value"  # collecting a value
    SKIP = "skip"  # following a broken value to its end, storing nothing


class JsonStreamer:
    """Splits a byte stream into parsed JSON values, in linear time.

    :meth:`feed` returns, in order, each complete value and a
    :class:`JsonError` for each broken one.
    """

    def __init__(self, max_depth: int = MAX_DEPTH, max_size: int = MAX_SIZE) -> None:
        self.max_depth = max_depth
        self.max_size = max_size
        self.reset()

    def reset(self) -> None:
        """Forget any partial value (a new client, or QEMU's 0xFF resync)."""
        self._mode = _Mode.IDLE
        self._depth = 0
        self._deepest = 0
        self._in_string = False
        self._escaped = False
        """The string so far ends in an odd run of backslashes (from an earlier read)."""
        self._scalar = False
        self._buffer = bytearray()

    @property
    def idle(self) -> bool:
        """True between values: nothing partial is held."""
        return self._mode is _Mode.IDLE

    def feed(self, data: bytes) -> list[Any]:
        """The values completed by ``data``; a :class:`JsonError` for each bad one."""
        out: list[Any] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._mode is _Mode.IDLE:
                pos = self._idle(data, pos, out)
            elif self._in_string:
                pos = self._string(data, pos, out)
            elif self._scalar:
                pos = self._scalar_bytes(data, pos, out)
            else:
                pos = self._container(data, pos, out)
            if self._mode is _Mode.VALUE and len(self._buffer) > self.max_size:
                self._fail(out, "JSON token size limit exceeded")
        return out

    # -- the modes -----------------------------------------------------------------

    def _idle(self, data: bytes, pos: int, out: list[Any]) -> int:
        pos = _WHITESPACE.match(data, pos).end()  # type: ignore[union-attr]
        if pos == len(data):
            return pos
        byte = data[pos]
        if byte in _OPEN:
            self._start(depth=1)
        elif byte == ord('"'):
            self._start(depth=0)
            self._in_string = True
        elif byte in _SCALAR_START:
            self._start(depth=0)
            self._scalar = True
            return pos  # collected by the scalar mode
        elif byte in b"}],:":
            out.append(JsonError("JSON parse error, expecting value"))
            return pos + 1
        else:
            out.append(_stray(byte))
            if byte not in _RESYNC:
                self._mode, self._scalar = _Mode.SKIP, True  # skip the rest of that word
            return pos + 1
        self._keep(data, pos, pos + 1)
        return pos + 1

    def _start(self, depth: int) -> None:
        self._mode = _Mode.VALUE
        self._depth = self._deepest = depth
        self._buffer = bytearray()

    def _string(self, data: bytes, pos: int, out: list[Any]) -> int:
        found = _STRING_STOP.search(data, pos)
        stop = found.start() if found else len(data)
        self._keep(data, pos, stop)
        escaped = _odd_backslashes(data, pos, stop, self._escaped)
        if found is None:
            self._escaped = escaped  # the string goes on in the next read
            return stop
        self._escaped = False
        byte = data[stop]
        if byte == ord('"'):
            self._keep(data, stop, stop + 1)
            if not escaped:
                self._in_string = False
                if self._depth == 0:
                    self._finish(out)
            return stop + 1
        # A control byte or 0xFE/0xFF inside a string: a lexical error.
        if self._mode is _Mode.VALUE:
            out.append(_stray(byte))
        if byte in _RESYNC or byte == ord("\n"):
            self.reset()
        else:
            self._mode = _Mode.SKIP
            self._buffer = bytearray()
        return stop + 1

    def _scalar_bytes(self, data: bytes, pos: int, out: list[Any]) -> int:
        pattern = _SCALAR if self._mode is _Mode.VALUE else _SKIP_SCALAR
        stop = pattern.match(data, pos).end()  # type: ignore[union-attr]
        self._keep(data, pos, stop)
        if stop < len(data):  # the next byte ends it (and is read as the next token)
            self._scalar = False
            if self._mode is _Mode.VALUE:
                self._finish(out)
            else:
                self.reset()
        return stop

    def _container(self, data: bytes, pos: int, out: list[Any]) -> int:
        found = (_SKIP_STOP if self._mode is _Mode.SKIP else _VALUE_STOP).search(data, pos)
        stop = found.start() if found else len(data)
        ended = self._brackets(data, pos, stop, out)
        if ended is not None or found is None:
            return stop if ended is None else ended
        byte = data[stop]
        if byte == ord('"'):
            self._keep(data, stop, stop + 1)
            self._in_string = True
            return stop + 1
        if self._mode is _Mode.VALUE:
            out.append(_stray(byte))
        if byte in _RESYNC:
            self.reset()
        else:
            self._mode = _Mode.SKIP
            self._buffer = bytearray()
        return stop + 1

    def _brackets(self, data: bytes, pos: int, stop: int, out: list[Any]) -> int | None:
        """Follow the brackets in data[pos:stop] (nothing else there matters).

        Returns where the value ended or broke a limit, or None when it goes on.
        """
        opens = data.count(b"{", pos, stop) + data.count(b"[", pos, stop)
        closes = data.count(b"}", pos, stop) + data.count(b"]", pos, stop)
        limit = self.max_depth if self._mode is _Mode.VALUE else sys.maxsize
        if closes < self._depth and self._depth + opens <= limit:
            # Cannot end the value nor exceed the limit: counted in bulk.
            self._keep(data, pos, stop)
            self._deepest = max(self._deepest, self._depth + opens)  # a bound is enough
            self._depth += opens - closes
            return None
        for found in _BRACKETS.finditer(data, pos, stop):
            at = found.start()
            if data[at] in _OPEN:
                self._depth += 1
                self._deepest = max(self._deepest, self._depth)
                if self._depth > limit:
                    self._fail(out, "JSON nesting depth limit exceeded")
                    return at + 1
                continue
            self._depth -= 1
            if self._depth == 0:
                self._keep(data, pos, at + 1)
                if self._mode is _Mode.VALUE:
                    self._finish(out)
                else:
                    self.reset()
                return at + 1
        self._keep(data, pos, stop)
        return None

    # -- helpers ---------------------------------------------------------------------

    def _keep(self, data: bytes, start: int, stop: int) -> None:
        if self._mode is _Mode.VALUE and stop > start:
            self._buffer += data[start:stop]

    def _fail(self, out: list[Any], text: str) -> None:
        out.append(JsonError(text))
        self._mode = _Mode.SKIP
        self._buffer = bytearray()  # the memory goes now, not at the end of the value

    def _finish(self, out: list[Any]) -> None:
        raw, deepest = bytes(self._buffer), self._deepest
        self.reset()
        if len(raw) > self.max_size:  # completed in the very read that broke the limit
            out.append(JsonError("JSON token size limit exceeded"))
            return
        try:
            out.append(parse(raw, deepest))
        except JsonError as err:
            out.append(err)


# --- parsing one complete value --------------------------------------------------------


def parse(raw: bytes, depth: int = MAX_DEPTH) -> Any:
    """One complete JSON value, checked as QEMU's parser checks it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonError("JSON parse error, invalid UTF-8 sequence in string") from None
    try:
        with _recursion_room(depth):
            value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant,
                               parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as err:
        raise JsonError(f"JSON parse error, {_message(err)}") from None
    except RecursionError:
        raise JsonError("JSON nesting depth limit exceeded") from None
    if _LONE_SURROGATE_HINT.search(text):
        _check_unicode(value)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise JsonError("JSON parse error, duplicate key")
    return result


def _constant(name: str) -> Any:
    raise JsonError(f"JSON parse error, invalid keyword '{name}'")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError("JSON parse error, number out of range")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # beyond Python's int-string limit (4300 digits)
        raise JsonError("JSON parse error, number out of range") from None


def _message(err: json.JSONDecodeError) -> str:
    if err.msg == "Expecting ',' delimiter":
        kind = _container_at(err.doc, err.pos)
        return "expected separator in dict" if kind == "{" else "expected separator in list"
    if err.msg.startswith("Invalid control character"):
        return f"stray '{err.doc[err.pos]}'"
    for python, qemu in _MESSAGES.items():
        if err.msg.startswith(python):
            return qemu
    return err.msg[:1].lower() + err.msg[1:]


def _container_at(text: str, pos: int) -> str:
    """The innermost open bracket at ``pos`` (on the error path only: one pass)."""
    stack: list[str] = []
    for token in _CONTAINER_TOKENS.finditer(text, 0, pos):
        mark = token.group()
        if mark in "{[":
            stack.append(mark)
        elif mark in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else "["


def _check_unicode(value: Any) -> None:
    """QEMU refuses a ``\\uD800``-style escape that is not half of a pair."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                code = ord(item[err.start])
                raise JsonError(f"JSON parse error, \\u{code:04x} is not a valid Unicode character"
                                ) from None


@contextlib.contextmanager
def _recursion_room(depth: int) -> Iterator[None]:
    """json's C parser counts nesting against the recursion limit: make room for 1024."""
    limit = sys.getrecursionlimit()
    if depth < 200:
        yield
        return
    sys.setrecursionlimit(limit + depth + 100)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _stray(byte: int) -> JsonError:
    # QEMU puts the raw byte in the text; a byte that is not ASCII is shown as \xNN,
    # since the reply must be valid UTF-8.
    char = chr(byte) if byte < 0x80 else f"\\x{byte:02x}"
    return JsonError(f"JSON parse error, stray '{char}'")


def _odd_backslashes(data: bytes, start: int, stop: int, carried: bool) -> bool:
    """Whether a string ends in an odd run of backslashes once data[start:stop] is added.

    ``carried`` is that answer for the string before ``start``.
    """
    if stop == start:
        return carried
    if data[stop - 1] != ord("\\"):
        return False
    segment = data[start:stop]
    run = len(segment) - len(segment.rstrip(b"\\"))
    if run == stop - start:
        return carried != (run % 2 == 1)
    return run % 2 == 1
