"""The QMP JSON streamer on its own: framing, QEMU's texts and limits, recovery, linear cost."""

from __future__ import annotations

import time

import pytest

from tuicon.monitor import jsonstream
from tuicon.monitor.jsonstream import MAX_DEPTH, MAX_SIZE, JsonError, JsonStreamer


def feed(*chunks: bytes, streamer: JsonStreamer | None = None) -> list:
    """Everything the chunks produce; errors as their text."""
    streamer = streamer or JsonStreamer()
    out = []
    for chunk in chunks:
        out += streamer.feed(chunk)
    return [str(v) if isinstance(v, JsonError) else v for v in out]


def depth_of(value) -> int:
    depth = 0
    while isinstance(value, list):
        value, depth = (value[0] if value else None), depth + 1
    return depth


def test_values_span_reads_and_share_them():
    stream = JsonStreamer()
    assert stream.feed(b'{"a": [1, "}') == [] and not stream.idle
    assert stream.feed(b'"]}{"b"') == [{"a": [1, "}"]}]
    assert stream.feed(b": 2}") == [{"b": 2}] and stream.idle
    assert feed(b'{"x": "a\\"b\\\\"}[1] "s" 12 true ') == [{"x": 'a"b\\'}, [1], "s", 12, True]


def test_escapes_split_across_reads():
    # The backslash at the end of one read escapes the quote at the start of the next.
    assert feed(b'{"a": "x\\', b'"y"}') == [{"a": 'x"y'}]
    assert feed(b'{"a": "x\\\\', b'"}') == [{"a": "x\\"}]
    assert feed(b'{"a": "\\\\\\', b'\\', b'"}') == [{"a": "\\\\"}]


def test_utf8_character_split_across_reads_decodes():
    assert feed(b'{"data": "caf\xc3', b'\xa9 \xe2\x82', b'\xac"}') == [{"data": "café €"}]


@pytest.mark.parametrize(("raw", "text"), [
    (b"nonsense\n", "JSON parse error, expecting value"),
    (b"]", "JSON parse error, expecting value"),
    (b'{"a" 1}', "JSON parse error, missing : in object pair"),
    (b"{1: 2}", "JSON parse error, key is not a string in object"),
    (b'{"a": 1 "b": 2}', "JSON parse error, expected separator in dict"),
    (b'[1 2]', "JSON parse error, expected separator in list"),
    (b'[{"a": [1]} 2]', "JSON parse error, expected separator in list"),
    (b'["\\q"]', "JSON parse error, invalid escape sequence in string"),
    (b'{"execute": "query-version", "execute": "quit"}', "JSON parse error, duplicate key"),
    (b"\x01", "JSON parse error, stray '\x01'"),
    (b'{"a": \x01}', "JSON parse error, stray '\x01'"),
    (b"[NaN]", "JSON parse error, stray 'N'"),
    (b'{"a": Infinity}', "JSON parse error, stray 'I'"),
    (b"[1e400]", "JSON parse error, number out of range"),
    (b"[-1e400]", "JSON parse error, number out of range"),
    (b"[" + b"7" * 5000 + b"]", "JSON parse error, number out of range"),
    (b'["\\ud800"]', "JSON parse error, \\ud800 is not a valid Unicode character"),
    (b'["\xc3("]', "JSON parse error, invalid UTF-8 sequence in string"),
])
def test_qemu_texts(raw, text):
    assert feed(raw + b" {}") == [text, {}]  # and the next value is read normally


def test_nothing_non_finite_or_duplicated_gets_through():
    # The first member must not win silently (QEMU refuses the whole request).
    assert feed(b'{"execute":"query-version","execute":"quit"}') == ["JSON parse error, duplicate key"]
    assert feed(b'{"a": {"b": 1, "b": 2}}') == ["JSON parse error, duplicate key"]
    assert feed(b"[1.5, -0.0, 1e308]") == [[1.5, -0.0, 1e308]]
    assert feed(b'["\\ud83d\\ude00"]') == [["\U0001F600"]]  # a surrogate pair is one character


def test_nesting_limit_is_qemus_and_skips_the_rest():
    ok = feed(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert len(ok) == 1 and depth_of(ok[0]) == MAX_DEPTH
    deep = b"[" * (MAX_DEPTH + 1) + b'"]]]"' + b"]" * (MAX_DEPTH + 1)
    assert feed(deep + b'{"next": 1}') == ["JSON nesting depth limit exceeded", {"next": 1}]


def test_ten_thousand_levels_in_small_reads():
    stream = JsonStreamer()
    data = b"[{" * 5000 + b"}]" * 5000 + b"{}"
    out = feed(*(data[i:i + 7] for i in range(0, len(data), 7)), streamer=stream)
    assert out == ["JSON nesting depth limit exceeded", {}] and stream.idle


def test_token_size_limit_frees_the_buffer_and_resumes():
    stream = JsonStreamer()
    chunk = b"a" * (1 << 20)
    out = stream.feed(b'{"data": "')
    for _ in range(MAX_SIZE // len(chunk) + 1):
        out += stream.feed(chunk)
    assert [str(e) for e in out] == ["JSON token size limit exceeded"]
    assert len(stream._buffer) == 0  # nothing of the broken value is held
    assert feed(b'"} {"ok": 1}', streamer=stream) == [{"ok": 1}]


def test_a_top_level_scalar_over_the_limit():
    stream = JsonStreamer(max_size=1000)
    assert feed(b"1" * 2000 + b" [2]", streamer=stream) == ["JSON token size limit exceeded", [2]]


def test_0xff_resets_at_once_anywhere():
    assert feed(b'{"a": [1, {"b": "c\xff{"ok": 1}') == ["JSON parse error, stray '\\xff'", {"ok": 1}]
    assert feed(b'{"a": [1, \xfe{"ok": 1}') == ["JSON parse error, stray '\\xfe'", {"ok": 1}]
    assert feed(b'\xff{"ok": 1}') == ["JSON parse error, stray '\\xff'", {"ok": 1}]
    # While a broken value is being skipped, 0xFF ends the skipping without a second error.
    assert feed(b'[\x01, "unterminated \xff[2]') == ["JSON parse error, stray '\x01'", [2]]


def test_a_raw_newline_resyncs_a_skipped_string():
    # After the stray byte the value is skipped; its string never ends, but the newline does.
    assert feed(b'{"a": \x02, "b": "never closed\n{"ok": 1}') == [
        "JSON parse error, stray '\x02'", {"ok": 1}]
    # A raw newline in a string being read is itself the error (and resyncs too).
    assert feed(b'{"a": "line\n', b'{"ok": 1}') == ["JSON parse error, stray '\n'", {"ok": 1}]


def test_an_unterminated_value_is_linear_and_bounded():
    stream = JsonStreamer()
    started = time.perf_counter()
    out = []
    for _ in range(70):  # 70 MiB of one string that never ends
        out += stream.feed(b"x" * (1 << 20) if out or stream._buffer else b'["' + b"x" * (1 << 20))
    assert [str(e) for e in out] == ["JSON token size limit exceeded"]
    assert len(stream._buffer) == 0 and not stream.idle
    assert time.perf_counter() - started < 10  # seconds: a loose bound, it takes well under one


def test_reads_are_never_rescanned(monkeypatch):
    """A 50 MB value in 64 KiB reads: each read costs a bounded number of steps."""
    steps = 0
    for name in ("_string", "_container", "_idle", "_scalar_bytes"):
        original = getattr(JsonStreamer, name)

        def counted(self, *args, _original=original):
            nonlocal steps
            steps += 1
            return _original(self, *args)

        monkeypatch.setattr(JsonStreamer, name, counted)
    value = b'{"execute": "ringbuf-write", "arguments": {"data": "' + b"\\n" * 25_000_000 + b'"}}'
    reads = range(0, len(value), 1 << 16)
    out = feed(*(value[i:i + (1 << 16)] for i in reads))
    assert len(out) == 1 and len(out[0]["arguments"]["data"]) == 25_000_000
    assert steps < 2 * len(reads) + 50


def test_parse_has_room_for_qemus_depth_whatever_the_stack():
    # json's C parser counts against the recursion limit; 1024 levels must parse anyway.
    def nested(frames: int):
        if frames:
            return nested(frames - 1)
        return jsonstream.parse(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, MAX_DEPTH)

    assert depth_of(nested(300)) == MAX_DEPTH
