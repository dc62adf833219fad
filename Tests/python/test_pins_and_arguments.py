"""What the Python module lets through to C, against a real daemon: a pin ends with its block
whatever the block did, no view of a folio outlives its pin or its client, and an integer or
string C would misread is refused before anything is sent."""

import errno
import os
import pathlib
import pickle
import subprocess
import sys

import pytest

import foliod

PYTHON_DIR = str(pathlib.Path(__file__).resolve().parents[2] / "python")


def _child(script, socket):
    """Runs `script` in a child: a view into an unmapped folio would kill pytest itself."""
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    return subprocess.run([sys.executable, "-c", script, socket], capture_output=True, text=True, timeout=60, env=env)


def test_the_pin_ends_with_the_block_even_if_the_block_exported_its_view(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        kept = []
        with c.pin(h) as view:
            try:
                kept.append(pickle.PickleBuffer(view))  # holds the buffer, as numpy.frombuffer does
            except TypeError:
                pass  # the view lends no buffer
        assert c.migrate([h], "slow") == ["slow"], "the folio is still pinned"
        assert c.free([h]) == [None]


def test_the_pin_ends_with_the_block_when_the_block_raises(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        with pytest.raises(KeyError):
            with c.pin(h):
                raise KeyError("the block failed")
        assert c.migrate([h], "slow") == ["slow"]


def test_no_slice_of_a_view_writes_into_a_moved_folio(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        with c.pin(h) as view:
            view[:4] = b"kept"
            part = view[:4]
        assert c.migrate([h], "slow") == ["slow"]
        try:
            part[:4] = b"lost"
        except (TypeError, ValueError):
            pass
        else:
            pytest.fail("a slice of the pin's view still writes into the folio's old block")
        with c.pin(h) as view:
            assert view[:4] == b"kept"


AFTER_CLOSE = """
import operator, sys, foliod
c = foliod.Client(sys.argv[1])
(h,) = c.alloc("fast")
with c.pin(h) as view:
    part = view[:8]
    c.close()
    for touch in (lambda: operator.setitem(view, 0, 1), lambda: operator.setitem(part, 0, 1)):
        try:
            touch()
        except (TypeError, ValueError) as error:
            print(type(error).__name__)
"""


def test_nothing_of_a_view_points_into_a_closed_client(daemon):
    child = _child(AFTER_CLOSE, daemon.socket)
    assert (child.returncode, child.stdout) == (0, "ValueError\nTypeError\n"), child.stderr


def test_a_view_reads_and_writes_in_place(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast", order=1)
        with c.pin(h) as view:
            assert len(view) == view.nbytes == 8192 and not view.readonly
            view[:] = bytes(range(256)) * 32
            view[-1] = 7
            assert (view[0], view[255], view[-1], view[-2]) == (0, 255, 7, 254)
            assert view[10:14] == bytes([10, 11, 12, 13]) and view[3:1] == b""
            assert view[0:8:3] == bytes([0, 3, 6]) and view[5:1:-2] == bytes([5, 3])
            assert bytes(view) == view.tobytes() and len(view.tobytes()) == 8192 and view == view.tobytes()
            buffer = bytearray(6)
            assert view.readinto(buffer, 8190) == 2 and buffer == bytearray([254, 7, 0, 0, 0, 0])
            view[4:8] = memoryview(b"abcd")
            assert view[4:8] == b"abcd"
            for bad, error in [(lambda: view.__setitem__(slice(0, 4), b"toolong"), ValueError),
                               (lambda: view.__setitem__(0, 256), ValueError),
                               (lambda: view.__setitem__(slice(0, 4, 2), b"ab"), ValueError),
                               (lambda: view[8192], IndexError),
                               (lambda: memoryview(view), TypeError)]:
                with pytest.raises(error):
                    bad()
            assert view[:4] == bytes([0, 1, 2, 3]), "a refused write wrote nothing"
        for used in (lambda: view[0], lambda: len(view), lambda: view.tobytes(), lambda: view.readinto(buffer)):
            with pytest.raises(ValueError):
                used()


def test_a_pin_is_entered_once_at_a_time(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        pin = c.pin(h)
        with pin:
            with pytest.raises(RuntimeError):
                pin.__enter__()
        with pin:  # and again after
            pass
        assert c.migrate([h], "slow") == ["slow"]


@pytest.mark.parametrize("call", [
    lambda c: c.alloc("fast", count=4 - 2**32),
    lambda c: c.alloc("fast", count=2**32 + 1),
    lambda c: c.alloc("fast", order=2**32 + 2),
    lambda c: c.alloc("fast", order=-1),
    lambda c: c.pin(-2**32).__enter__(),
    lambda c: c.pin(2**32).__enter__(),
    lambda c: c.tier_of(-2**32),
    lambda c: c.free([2**32]),
    lambda c: c.migrate([-2**32], "slow"),
    lambda c: c.migrate([0], "slow", reason=1),
], ids=["count-wraps-to-4", "count-wraps-to-1", "order-wraps-to-2", "order-minus-1", "pin-wraps-to-0",
        "pin-2**32", "tier_of-wraps-to-0", "free-2**32", "migrate-wraps-to-0", "reason-an-int"])
def test_an_integer_c_would_wrap_is_valueerror_and_changes_nothing(daemon, call):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        with pytest.raises(ValueError) as raised:
            call(c)
        assert "2**32" in str(raised.value) or "4294967295" in str(raised.value) or "reason" in str(raised.value)
        assert c.alloc("fast") == [h + 1], "something was allocated"
        assert c.migrate([h], "slow") == ["slow"], "something was pinned, or moved"


@pytest.mark.parametrize("call", [
    lambda c: c.alloc("fast", count=1.0),
    lambda c: c.pin("0"),
    lambda c: c.alloc(1.0),
    lambda c: foliod.Client(c.socket, space=b"db"),
])
def test_an_argument_of_the_wrong_type_is_typeerror(daemon, call):
    with foliod.Client(daemon.socket) as c:
        c.socket = daemon.socket
        with pytest.raises(TypeError):
            call(c)


def test_a_nul_in_a_string_is_refused_not_cut_short(daemon):
    with pytest.raises(ValueError):
        foliod.Client(daemon.socket, space="db\0other")
    with pytest.raises(ValueError):
        foliod.Client(daemon.socket + "\0junk")
    with foliod.Client(daemon.socket) as c:
        with pytest.raises(OSError) as raised:
            c.tier("fast\0slow")
        assert raised.value.errno == errno.ENOENT


def test_a_read_pin_gives_a_read_only_view_and_ends_with_its_block(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        with c.pin(h) as view:
            view[:5] = b"hello"
        with c.pin(h, write=False) as view:
            assert view.readonly and view[:5] == b"hello"
            with pytest.raises(TypeError):
                view[0] = 1
            with pytest.raises(TypeError):
                view[:2] = b"no"
            with pytest.raises(AttributeError):
                view.readonly = False
            (busy,) = c.migrate([h], "slow")
            assert isinstance(busy, OSError) and busy.errno == errno.EBUSY, "a held read pin keeps the folio from committing"
        assert c.migrate([h], "slow") == ["slow"], "the read pin ended with the block"
        with c.pin(h, write=False) as view:
            assert bytes(view[:5]) == b"hello"
        with pytest.raises(TypeError):
            c.pin(h, write=1)
