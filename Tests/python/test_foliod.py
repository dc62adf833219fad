"""The Python module's API and its errors, against a real daemon."""

import errno
import threading

import pytest

import foliod


def test_alloc_pin_migrate_free_keeps_the_bytes(daemon):
    with foliod.Client(daemon.socket) as c:
        assert c.tiers == ["fast", "slow"]
        handles = c.alloc("fast", order=2, count=3)
        assert len(handles) == 3
        for i, h in enumerate(handles):
            with c.pin(h) as view:
                assert len(view) == 16384 and not view.readonly
                view[:] = bytes([i + 1]) * len(view)
        assert c.migrate(handles, "slow", reason="demotion") == ["slow"] * 3
        assert [c.tier_of(h) for h in handles] == ["slow"] * 3
        for i, h in enumerate(handles):
            with c.pin(h) as view:
                assert view.tobytes() == bytes([i + 1]) * 16384
        assert c.free(handles) == [None, None, None]


def test_a_view_is_released_when_its_pin_ends(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc(0)
        with c.pin(h) as view:
            pass
        with pytest.raises(ValueError):
            view[0]


def test_per_handle_failures_are_oserrors(daemon):
    with foliod.Client(daemon.socket) as c:
        (h,) = c.alloc("fast")
        moved = c.migrate([h, 4000], "slow")
        assert moved[0] == "slow"
        assert isinstance(moved[1], OSError) and moved[1].errno == errno.ENOENT
        with c.pin(h):
            busy = c.migrate([h], "fast")[0]
        assert isinstance(busy, OSError) and busy.errno == errno.EBUSY
        assert c.tier_of(h) == "slow"
        freed = c.free([h, h + 1])
        assert freed[0] is None and freed[1].errno == errno.ENOENT


@pytest.mark.parametrize("call, code", [
    (lambda c: c.alloc("warm"), errno.ENOENT),
    (lambda c: c.alloc(5), errno.ENOENT),
    (lambda c: c.alloc("fast", order=10), errno.EINVAL),
    (lambda c: c.alloc("fast", count=0), errno.EINVAL),
    (lambda c: c.alloc("slow", order=9, count=33), errno.ENOMEM),
    (lambda c: c.migrate([0, 0], "slow"), errno.EINVAL),
    (lambda c: c.tier_of(70000), errno.ENOENT),
    (lambda c: c.pin(9).__enter__(), errno.ENOENT),
])
def test_refused_requests_raise_oserror_with_the_errno(daemon, call, code):
    with foliod.Client(daemon.socket) as c:
        c.alloc("fast")
        with pytest.raises(OSError) as raised:
            call(c)
        assert raised.value.errno == code


@pytest.mark.parametrize("call", [
    lambda c: c.migrate([], "slow"),
    lambda c: c.migrate(range(16385), "slow"),
    lambda c: c.migrate([-1], "slow"),
    lambda c: c.migrate([0], "slow", reason="boredom"),
    lambda c: c.free([]),
])
def test_bad_arguments_raise_valueerror_before_any_request(daemon, call):
    with foliod.Client(daemon.socket) as c:
        with pytest.raises(ValueError):
            call(c)


def test_connect_errors(daemon, tmp_path):
    with pytest.raises(FileNotFoundError):
        foliod.Client(str(tmp_path / "no.sock"))
    for name in ["", "a" * 256, "bad\nname"]:
        with pytest.raises(OSError) as raised:
            foliod.Client(daemon.socket, space=name)
        assert raised.value.errno == errno.EINVAL


def test_a_named_space_is_shared_and_destroy_ends_it(daemon):
    with foliod.Client(daemon.socket, space="pytest") as a, foliod.Client(daemon.socket, space="pytest") as b:
        (h,) = a.alloc("fast")
        with a.pin(h) as view:
            view[:4] = b"FOLI"
        with b.pin(h) as view:
            assert view[:4] == b"FOLI"
        a.destroy()
        with pytest.raises(OSError) as raised:
            a.alloc("fast")
        assert raised.value.errno == errno.ENOTCONN
    with foliod.Client(daemon.socket, space="pytest") as fresh:
        with pytest.raises(FileNotFoundError):
            fresh.pin(h).__enter__()


def test_stats_are_fields(daemon):
    with foliod.Client(daemon.socket) as c:
        before = c.stats()
        handles = c.alloc("fast", count=4)
        c.migrate(handles, "slow")
        after = c.stats()
        assert after.migrator == "kernel"
        assert after.folios_migrated - before.folios_migrated == 4
        assert after.bytes_copied - before.bytes_copied == 4 * 4096
        assert after.batches > before.batches


def test_a_closed_client_refuses_requests(daemon):
    c = foliod.Client(daemon.socket)
    c.close()
    c.close()
    with pytest.raises(ValueError):
        c.alloc("fast")


def test_pins_from_threads_while_migrating(daemon):
    with foliod.Client(daemon.socket) as c:
        handles = c.alloc("fast", order=4, count=8)
        for h in handles:
            with c.pin(h) as view:
                view[:] = bytes([h % 251]) * len(view)
        torn = []

        def reader():
            for _ in range(30):
                for h in handles:
                    with c.pin(h) as view:
                        if view.tobytes() != bytes([h % 251]) * len(view):
                            torn.append(h)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        for i in range(30):
            c.migrate(handles, "slow" if i % 2 == 0 else "fast")
        for t in threads:
            t.join()
        assert torn == []
