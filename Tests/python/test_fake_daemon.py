"""The Python module against a daemon that lies (Tests/fakes/fake_foliod.py): a malformed reply
is an OSError with errno EBADMSG, never a crash, a wrapped integer or a stray exception."""

import errno
import os
import pathlib
import subprocess
import sys

import pytest

import foliod

PYTHON_DIR = str(pathlib.Path(__file__).resolve().parents[2] / "python")

# Run in a child: a client that believed one of these replies dies of SIGBUS at its first
# touch of the folio table, the pin table or a folio.
CONNECT_AND_TOUCH = """
import errno, sys, foliod
try:
    c = foliod.Client(sys.argv[1])
except OSError as error:
    print(errno.errorcode[error.errno])
    sys.exit(0)
(h,) = c.alloc(0)
with c.pin(h) as view:
    view[0] = 1
print("attached")
"""


@pytest.mark.parametrize("scenario", [
    "short-folio-table", "short-pin-table", "short-tier-memfd", "tier-size-2^63", "too-many-tiers",
    "fewer-fds", "not-a-memfd",
])
def test_a_lying_attach_is_ebadmsg_and_no_sigbus(fake, scenario):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    child = subprocess.run([sys.executable, "-c", CONNECT_AND_TOUCH, fake(scenario)],
                           capture_output=True, text=True, timeout=60, env=env)
    assert (child.returncode, child.stdout) == (0, "EBADMSG\n"), child.stderr


def _alloc_two(c):
    return c.alloc("fast", count=2)


@pytest.mark.parametrize("scenario, call", [
    ("alloc-fewer-handles", _alloc_two),
    ("alloc-handle-out-of-range", _alloc_two),
    ("free-status-int32min", lambda c: c.free(_alloc_two(c))),
    ("migrate-status-int32min", lambda c: c.migrate(_alloc_two(c), "slow")),
    ("migrate-status-unknown-tier", lambda c: c.migrate(_alloc_two(c), "slow")),
    ("migrate-fewer-statuses", lambda c: c.migrate(_alloc_two(c), "slow")),
    ("error-errno-0", _alloc_two),
    ("error-errno-0", lambda c: c.stats()),
    ("wrong-request-id", _alloc_two),
    ("wrong-request-id", lambda c: c.destroy()),
    ("truncated-reply", _alloc_two),
    ("truncated-reply", lambda c: c.free([0])),
])
def test_a_lying_reply_is_an_oserror_ebadmsg(fake, scenario, call):
    with foliod.Client(fake(scenario)) as c:
        with pytest.raises(OSError) as raised:
            call(c)
        assert raised.value.errno == errno.EBADMSG


def test_a_daemon_from_before_attach_features_is_attached_without_them(fake):
    with foliod.Client(fake("before-features"), space="py") as c:
        (h,) = c.alloc("fast")
        with c.pin(h) as view:
            view[:3] = b"old"
        with c.pin(h, write=False) as view:
            assert bytes(view[:3]) == b"old"
            assert c.migrate([h], "slow")[0].errno == errno.EBUSY, "that daemon counts a read pin as a pin"
        assert c.migrate([h], "slow") == ["slow"]


def test_the_good_fake_serves_the_module(fake):
    with foliod.Client(fake("good"), space="py") as c:
        assert c.tiers == ["fast", "slow"]
        handles = c.alloc("fast", order=1, count=3)
        for i, h in enumerate(handles):
            with c.pin(h) as view:
                view[:] = bytes([i + 7]) * len(view)
        moved = c.migrate(handles + [999], "slow", reason="demotion")
        assert moved[:3] == ["slow"] * 3 and moved[3].errno == errno.ENOENT
        with c.pin(handles[2]) as view:
            assert bytes(view) == bytes([9]) * 8192
            assert c.migrate([handles[2]], "fast")[0].errno == errno.EBUSY
        assert c.stats().folios_migrated == 3
        assert c.free(handles) == [None] * 3
        c.destroy()


def test_a_daemon_refusing_as_it_stops_is_retried_and_the_next_answers(fake):
    # libfolio retries ESHUTDOWN (a connection taken by a daemon that is stopping, as across a
    # restart) on a new connection; the fake refuses three, then serves.
    c = foliod.Client(fake("stopping-then-good"))
    try:
        assert len(c.alloc("fast", count=1)) == 1
    finally:
        c.close()
