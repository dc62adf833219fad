"""Keep data in foliod from Python.

    import foliod
    with foliod.Client("/run/foliod/foliod.sock", space="db") as c:
        handles = c.alloc("fast", order=9, count=4)
        with c.pin(handles[0]) as view:      # the folio's bytes, until the block ends
            view[:5] = b"hello"
            print(view[:5], len(view))       # b'hello' 2097152
        c.migrate(handles, "slow", reason="demotion")   # per handle: "slow", or an OSError
        print(c.stats().folios_migrated, c.stat("tier.fast.free_bytes"))
        print(c.counters())                  # every counter the daemon sends, by name

A thin layer over libfolio (the C client) through ctypes: nothing to compile. Every refused
request raises OSError with the daemon's errno (errno.EINVAL, errno.ENOMEM, ...). An argument
that libfolio's C types cannot hold (a handle, count or order below 0 or past 2**32 - 1) raises
ValueError, a string with a NUL byte ValueError, an argument of the wrong type TypeError, all
before anything is sent. A Client may be used from several threads: requests wait for each
other, pins do not; close() waits for the calls in flight.

Pins. `with c.pin(h) as view:` pins the folio for exactly the block: the unpin happens when it
ends, however it ends. `view` is a FolioView, which reads and writes the folio in place but
never lends out its memory: `view[i]` is an int, `view[a:b]`, `bytes(view)` and
`view.tobytes()` are bytes copied out, `view[a:b] = data` and `view[i] = n` copy in, and
`view.readinto(buffer, offset)` copies into any writable buffer (a bytearray, a numpy array).
It does not export the buffer protocol, so no memoryview, slice or numpy array can point into
the folio once it is unpinned (where the folio may have moved, its old block reused) or the
client closed (unmapped). After the block, and after close(), every use of `view` raises
ValueError, as a released memoryview does. For zero-copy access to a folio, use libfolio from C.
"""

import ctypes
import dataclasses
import errno as _errno
import operator
import os
import pathlib
import threading

__all__ = ["Client", "FolioView", "Stats", "REASONS", "MAX_HANDLES"]

# The migrate request's reason byte, by name.
REASONS = {"syscall": 0, "demotion": 1, "promotion": 2, "compaction": 3}
MAX_HANDLES = 16384


def _library_candidates():
    """Where libfolio.so.1 may be: $FOLIO_LIBRARY, beside an installed module
    (PREFIX/lib/pythonX.Y/dist-packages/foliod -> PREFIX/lib), the source tree's build, then
    the loader's search path."""
    if os.environ.get("FOLIO_LIBRARY"):
        yield os.environ["FOLIO_LIBRARY"]
    here = pathlib.Path(__file__).resolve().parent
    yield str(here.parents[2] / "libfolio.so.1")
    yield str(here.parents[1] / ".build-c" / "libfolio.so.1")
    yield "libfolio.so.1"


def _load():
    errors = []
    for candidate in _library_candidates():
        if "/" in candidate and not os.path.exists(candidate):
            continue
        try:
            return ctypes.CDLL(candidate, use_errno=True)
        except OSError as error:
            errors.append(f"{candidate}: {error}")
    raise ImportError("libfolio.so.1 not found (set FOLIO_LIBRARY): " + "; ".join(errors))


class _Stats(ctypes.Structure):
    # libfolio's struct folio_stats, which is frozen: a counter added since is read by name.
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "batches", "folios_migrated", "folios_failed", "folios_busy", "bytes_copied",
        "unmap_ns", "copy_ns", "move_ns", "fallbacks")] + [("migrator", ctypes.c_char * 32)]


def _declare(lib):
    P, U32, I32, INT = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int32, ctypes.c_int
    U32P, I32P = ctypes.POINTER(U32), ctypes.POINTER(I32)
    signatures = {
        "folio_connect": [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(P)],
        "folio_close": [P],
        "folio_tier": [P, ctypes.c_char_p],
        "folio_tier_count": [P],
        "folio_tier_name": [P, INT],
        "folio_alloc": [P, INT, ctypes.c_uint, U32, U32P],
        "folio_free": [P, U32P, U32, I32P],
        "folio_migrate": [P, U32P, U32, INT, INT, I32P],
        "folio_pin": [P, U32, ctypes.POINTER(P), ctypes.POINTER(ctypes.c_size_t)],
        "folio_unpin": [P, U32],
        "folio_pin_read": [P, U32, ctypes.POINTER(P), ctypes.POINTER(ctypes.c_size_t)],
        "folio_unpin_read": [P, U32],
        "folio_tier_of": [P, U32],
        "folio_stats": [P, ctypes.POINTER(_Stats)],
        "folio_stat": [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)],
        "folio_stat_list": [P, ctypes.c_char_p, ctypes.c_size_t],
        "folio_destroy": [P],
        "folio_error_message": [P],
    }
    for name, arguments in signatures.items():
        function = getattr(lib, name)
        function.argtypes = arguments
        function.restype = INT
    lib.folio_close.restype = None
    lib.folio_tier_name.restype = ctypes.c_char_p
    lib.folio_error_message.restype = ctypes.c_char_p
    return lib


_lib = _declare(_load())


@dataclasses.dataclass(frozen=True)
class Stats:
    """The daemon's first counters (its migration/stats/ knobs) and the migrator copying now.
    Its fields never change; every counter, these and the rest, is in Client.counters() and
    Client.stat(name)."""
    migrator: str
    batches: int
    folios_migrated: int
    folios_failed: int
    folios_busy: int
    bytes_copied: int
    unmap_ns: int
    copy_ns: int
    move_ns: int
    fallbacks: int


def _error(code, what):
    return OSError(code, f"{what}: {os.strerror(code)}")


U32_MAX = 2**32 - 1


def _integer(value, what, high=U32_MAX):
    """`value` as an int from 0 to `high`: ctypes would wrap anything else modulo 2**32."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} is an integer, not {type(value).__name__}") from None
    if not 0 <= number <= high:
        raise ValueError(f"{what} is an integer from 0 to {high}, not {number}")
    return number


def _no_nul(data, what):
    """C strings end at the first NUL: a name with one would be cut short, so it is refused."""
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL byte")
    return data


def _text(value, what):
    if not isinstance(value, str):
        raise TypeError(f"{what} is a str, not {type(value).__name__}")
    return _no_nul(value.encode(), what)


def _handles(handles):
    handles = list(handles)
    if not handles or len(handles) > MAX_HANDLES:
        raise ValueError(f"between 1 and {MAX_HANDLES} handles, not {len(handles)}")
    numbers = [_integer(h, "a handle") for h in handles]
    return (ctypes.c_uint32 * len(numbers))(*numbers), len(numbers)


class Client:
    """One connection to foliod, attached to the named space `space` (created if missing) or
    to a new anonymous one (space=None)."""

    def __init__(self, socket, space=None):
        path = _no_nul(os.fsencode(socket), "the socket path")
        name = None if space is None else _text(space, "the space name")
        handle = ctypes.c_void_p()
        code = _lib.folio_connect(path, name, ctypes.byref(handle))
        if code < 0:
            raise _error(-code, f"connect to {socket}" + (f" (space {space!r})" if space else ""))
        # close() waits under _guard for the calls in flight (_users), then ends every view of
        # a pin still held (_views, by id: a view compares by content and is not hashable).
        self._guard, self._users, self._views = threading.Lock(), 0, {}
        self._idle = threading.Condition(self._guard)
        self._c = handle
        count = _lib.folio_tier_count(handle)
        self.tiers = [_lib.folio_tier_name(handle, i).decode(errors="replace") for i in range(count)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A client dropped without close() still gives its connection and mappings back.
        if getattr(self, "_c", None):
            self.close()

    def close(self):
        """Closes the connection; an anonymous space goes with it, a named one stays. Every
        view of a pin still held ends here (the pins end with the connection). Waits for the
        calls other threads have in flight; a second close() does nothing."""
        with self._guard:
            if not self._c:
                return
            handle, self._c = self._c, None
            while self._users:
                self._idle.wait()
            views = list(self._views.values())
        for view in views:
            view.release()
        _lib.folio_close(handle)

    def _enter(self, closed_ok=False):
        """The C client, which close() will not free before the matching _leave(); for a closed
        client None if closed_ok (no _leave then), else ValueError."""
        with self._guard:
            c = self._c
            if c:
                self._users += 1
            elif not closed_ok:
                raise ValueError("the client is closed")
            return c

    def _leave(self):
        with self._guard:
            self._users -= 1
            if not self._users and not self._c:
                self._idle.notify_all()

    def _check(self, code, what, c):
        if code < 0:
            message = _lib.folio_error_message(c).decode(errors="replace")
            raise _error(-code, what + (f" ({message})" if message else ""))
        return code

    def _call(self, what, function, *arguments):
        """function(c, *arguments) on the open C client; a negative errno becomes OSError."""
        c = self._enter()
        try:
            return self._check(function(c, *arguments), what, c)
        finally:
            self._leave()

    def tier(self, name):
        """The index of the tier called `name` (an int passes through, checked)."""
        if isinstance(name, str):
            if name in self.tiers:
                return self.tiers.index(name)
            raise _error(_errno.ENOENT, f"tier {name!r}")
        try:
            index = operator.index(name)
        except TypeError:
            raise TypeError(f"a tier is a name or an index, not {type(name).__name__}") from None
        if 0 <= index < len(self.tiers):
            return index
        raise _error(_errno.ENOENT, f"tier {name}")

    def alloc(self, tier, order=0, count=1):
        """`count` folios of 4096 << order bytes in `tier` (a name or an index): their handles."""
        order, count = _integer(order, "order"), _integer(count, "count")
        # Room for every handle asked; a count libfolio refuses (0, over MAX_HANDLES) is never written.
        out = (ctypes.c_uint32 * (count if 1 <= count <= MAX_HANDLES else 1))()
        self._call("alloc", _lib.folio_alloc, self.tier(tier), order, count, out)
        return list(out[:count])

    def free(self, handles):
        """Frees folios: per handle None, or the OSError that kept it (ENOENT, EBUSY)."""
        array, count = _handles(handles)
        status = (ctypes.c_int32 * count)()
        self._call("free", _lib.folio_free, array, count, status)
        return [None if s == 0 else _error(-s, f"handle {h}") for h, s in zip(array, status)]

    def migrate(self, handles, tier, reason="syscall"):
        """Moves folios to `tier`: per handle the name of the tier it is in now, or the OSError
        that kept it where it was (ENOENT, ENOMEM, EBUSY)."""
        if not isinstance(reason, str) or reason not in REASONS:
            raise ValueError(f"reason is one of {', '.join(REASONS)}, not {reason!r}")
        array, count = _handles(handles)
        status = (ctypes.c_int32 * count)()
        self._call("migrate", _lib.folio_migrate, array, count, self.tier(tier), REASONS[reason], status)
        return [self.tiers[s] if s >= 0 else _error(-s, f"handle {h}") for h, s in zip(array, status)]

    def tier_of(self, handle):
        """The name of the tier `handle` is in now."""
        handle = _integer(handle, "a handle")
        return self.tiers[self._call(f"handle {handle}", _lib.folio_tier_of, handle)]

    def pin(self, handle, write=True):
        """A context manager: the folio does not move inside it, and `as view` is a FolioView
        of its bytes, usable until the block ends (then the pin is released, whatever
        happened in the block). Each pin counts one access, which the daemon's tiering policy
        ranks folios by. write=False takes a read pin: a migration may copy the folio
        meanwhile (the reader never waits for it), and the view is read-only."""
        if not isinstance(write, bool):
            raise TypeError(f"write must be True or False, not {type(write).__name__}")
        return _Pin(self, _integer(handle, "a handle"), write)

    def _pin(self, handle, write):
        data, length = ctypes.c_void_p(), ctypes.c_size_t()
        take = _lib.folio_pin if write else _lib.folio_pin_read
        c = self._enter()
        try:
            self._check(take(c, handle, ctypes.byref(data), ctypes.byref(length)), f"pin {handle}", c)
            view = FolioView(data.value, length.value, readonly=not write)
            self._views[id(view)] = view
            return view
        finally:
            self._leave()

    def _unpin(self, handle, view, write):
        view.release()  # first: no copy into the folio may still run once it can move
        self._views.pop(id(view), None)
        c = self._enter(closed_ok=True)
        if c:  # else the connection's pins went with it
            try:
                (_lib.folio_unpin if write else _lib.folio_unpin_read)(c, handle)
            finally:
                self._leave()

    def stats(self):
        """The daemon's counters."""
        raw = _Stats()
        self._call("stats", _lib.folio_stats, ctypes.byref(raw))
        counters = {name: getattr(raw, name) for name, _ in _Stats._fields_ if name != "migrator"}
        return Stats(migrator=raw.migrator.decode(errors="replace"), **counters)

    def stat(self, name):
        """The daemon's counter called `name` (Documentation/PROTOCOL.md section 4:
        "copy_faults", "tiering.demoted", "tier.fast.free_bytes", ...): KeyError if the daemon
        sends none of that name."""
        data, value = _text(name, "a counter name"), ctypes.c_uint64()
        c = self._enter()
        try:
            code = _lib.folio_stat(c, data, ctypes.byref(value))
            if code == -_errno.ENOENT:
                raise KeyError(name)
            self._check(code, f"stat {name!r}", c)
        finally:
            self._leave()
        return value.value

    def counters(self):
        """Every counter the daemon sends, {name: value} in the daemon's order, from one
        stats request."""
        size = 4096
        while True:
            buffer = ctypes.create_string_buffer(size)
            length = self._call("stats", _lib.folio_stat_list, buffer, size)
            if length < size:
                break
            size = length + 256  # the next snapshot may have grown a digit or a counter
        lines = buffer.raw[:length].decode(errors="replace").splitlines()
        return {name: int(value) for name, value in (line.split(" ") for line in lines)}

    def destroy(self):
        """Destroys the attached space; the client can make no request after it."""
        self._call("destroy", _lib.folio_destroy)


class FolioView:
    """The bytes of a pinned folio, for as long as the pin lasts: `with c.pin(h) as view:`.

    Reads copy out, writes copy in, both straight to the folio: view[i] (an int),
    view[a:b] (bytes; any step), bytes(view), view.tobytes(), view.readinto(buffer, offset);
    view[i] = n, view[a:b] = data (any bytes-like object of the slice's length, step 1).
    len(view) is the folio's size. It lends no buffer: nothing can keep pointing into the
    folio after the unpin. Once the pin ends (or the client closes), every use raises
    ValueError. A view may be used from several threads; release() ends it early. The view of
    a read pin (`c.pin(h, write=False)`) is read-only: a write raises TypeError.
    """

    __slots__ = ("_address", "_length", "_lock", "_readonly")

    def __init__(self, address, length, readonly=False):
        self._address, self._length, self._lock = address, length, threading.Lock()
        self._readonly = readonly

    @property
    def readonly(self):
        """True for the view of a read pin (as memoryview.readonly); it cannot be changed."""
        return self._readonly

    def release(self):
        """Ends the view (waiting for a copy another thread has in flight); the pin itself
        lasts until its `with` block ends."""
        with self._lock:
            self._address = None

    def _live(self):
        """The folio's address; called with _lock held, which the unpin and close() wait for."""
        if self._address is None:
            raise ValueError("operation on a FolioView whose pin has ended")
        return self._address

    def __len__(self):
        with self._lock:
            self._live()
            return self._length

    @property
    def nbytes(self):
        return len(self)

    def _read(self, start, count):
        with self._lock:
            return ctypes.string_at(self._live() + start, count)

    def _write(self, start, count, data):
        if self._readonly:
            raise TypeError("a FolioView of a read pin is read-only")
        if type(data) is not bytes:
            data = memoryview(data).cast("B")
        if len(data) != count:
            raise ValueError(f"{len(data)} bytes do not fit a slice of {count}")
        with self._lock:
            address = self._live() + start
            if type(data) is bytes:
                ctypes.memmove(address, data, count)
            elif count:
                memoryview((ctypes.c_ubyte * count).from_address(address)).cast("B")[:] = data

    def _index(self, key):
        index = operator.index(key)
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"index {key} is out of a folio of {self._length} bytes")
        return index

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self._read(self._index(key), 1)[0]
        indices = range(*key.indices(self._length))
        if not indices:
            return b""
        low, high = min(indices[0], indices[-1]), max(indices[0], indices[-1])
        data = self._read(low, high - low + 1)
        return data if indices.step == 1 else data[indices[0] - low::indices.step][:len(indices)]

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            if step != 1:
                raise ValueError("a FolioView is written in slices of step 1")
            self._write(start, max(stop - start, 0), value)
            return
        index = self._index(key)
        self._write(index, 1, bytes([_integer(value, "a byte", high=255)]))

    def tobytes(self):
        """A copy of the whole folio."""
        return self._read(0, self._length)

    __bytes__ = tobytes

    def readinto(self, buffer, offset=0):
        """Copies the folio's bytes from `offset` into `buffer` (as many as it holds, up to
        the folio's end): how many were copied."""
        target = memoryview(buffer).cast("B")
        offset = _integer(offset, "offset", high=self._length)
        count = min(target.nbytes, self._length - offset)
        with self._lock:
            source = self._live() + offset
            if count:
                target[:count] = memoryview((ctypes.c_ubyte * count).from_address(source)).cast("B")
        return count

    def __iter__(self):
        return iter(self.tobytes())

    def __eq__(self, other):
        try:
            other = memoryview(other).cast("B")
        except TypeError:
            return NotImplemented
        return self.tobytes() == other

    __hash__ = None

    def __repr__(self):
        live = self._address is not None
        return f"<FolioView of {self._length} bytes>" if live else "<FolioView, pin ended>"


class _Pin:
    def __init__(self, client, handle, write):
        self._client, self._handle, self._write, self._view = client, handle, write, None

    def __enter__(self):
        if self._view is not None:
            raise RuntimeError(f"pin {self._handle} is held already: c.pin(h) again for another")
        self._view = self._client._pin(self._handle, self._write)
        return self._view

    def __exit__(self, *exc):
        view, self._view = self._view, None
        if view is not None:
            self._client._unpin(self._handle, view, self._write)
