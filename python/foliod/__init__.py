"""Keep data in foliod from Python.

    import foliod
    with foliod.Client("/run/foliod/foliod.sock", space="db") as c:
        handles = c.alloc("fast", order=9, count=4)
        with c.pin(handles[0]) as view:      # a writable memoryview of the folio
            view[:5] = b"hello"
        c.migrate(handles, "slow", reason="demotion")   # per handle: "slow", or an OSError
        print(c.stats().folios_migrated)

A thin layer over libfolio (the C client) through ctypes: nothing to compile. Every refused
request raises OSError with the daemon's errno (errno.EINVAL, errno.ENOMEM, ...). A Client may
be used from several threads: requests wait for each other, pins do not.
"""

import ctypes
import dataclasses
import errno as _errno
import os
import pathlib

__all__ = ["Client", "Stats", "REASONS", "MAX_HANDLES"]

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
        "folio_tier_of": [P, U32],
        "folio_stats": [P, ctypes.POINTER(_Stats)],
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
    """The daemon's counters (its migration/stats/ knobs) and the migrator copying now."""
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


def _handles(handles):
    handles = list(handles)
    if not handles or len(handles) > MAX_HANDLES:
        raise ValueError(f"between 1 and {MAX_HANDLES} handles, not {len(handles)}")
    if any(not isinstance(h, int) or h < 0 or h > 0xFFFFFFFF for h in handles):
        raise ValueError("handles are integers from 0 to 2**32 - 1")
    return (ctypes.c_uint32 * len(handles))(*handles), len(handles)


class Client:
    """One connection to foliod, attached to the named space `space` (created if missing) or
    to a new anonymous one (space=None)."""

    def __init__(self, socket, space=None):
        handle = ctypes.c_void_p()
        name = None if space is None else space.encode()
        code = _lib.folio_connect(os.fsencode(socket), name, ctypes.byref(handle))
        if code < 0:
            raise _error(-code, f"connect to {socket}" + (f" (space {space!r})" if space else ""))
        self._c = handle
        self.tiers = [_lib.folio_tier_name(handle, i).decode() for i in range(_lib.folio_tier_count(handle))]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A client dropped without close() still gives its connection and mappings back.
        if getattr(self, "_c", None):
            self.close()

    def close(self):
        """Closes the connection; an anonymous space goes with it, a named one stays."""
        if self._c:
            _lib.folio_close(self._c)
            self._c = None

    def _client(self):
        if not self._c:
            raise ValueError("the client is closed")
        return self._c

    def _check(self, code, what):
        if code < 0:
            message = _lib.folio_error_message(self._c).decode(errors="replace")
            raise _error(-code, what + (f" ({message})" if message else ""))
        return code

    def tier(self, name):
        """The index of the tier called `name` (an int passes through, checked)."""
        if isinstance(name, int):
            if 0 <= name < len(self.tiers):
                return name
            raise _error(_errno.ENOENT, f"tier {name}")
        return self._check(_lib.folio_tier(self._client(), name.encode()), f"tier {name!r}")

    def alloc(self, tier, order=0, count=1):
        """`count` folios of 4096 << order bytes in `tier` (a name or an index): their handles."""
        out = (ctypes.c_uint32 * max(count, 1))()
        self._check(_lib.folio_alloc(self._client(), self.tier(tier), order, count, out), "alloc")
        return list(out[:count])

    def free(self, handles):
        """Frees folios: per handle None, or the OSError that kept it (ENOENT, EBUSY)."""
        array, count = _handles(handles)
        status = (ctypes.c_int32 * count)()
        self._check(_lib.folio_free(self._client(), array, count, status), "free")
        return [None if s == 0 else _error(-s, f"handle {h}") for h, s in zip(array, status)]

    def migrate(self, handles, tier, reason="syscall"):
        """Moves folios to `tier`: per handle the name of the tier it is in now, or the OSError
        that kept it where it was (ENOENT, ENOMEM, EBUSY)."""
        if reason not in REASONS:
            raise ValueError(f"reason is one of {', '.join(REASONS)}, not {reason!r}")
        array, count = _handles(handles)
        status = (ctypes.c_int32 * count)()
        code = _lib.folio_migrate(self._client(), array, count, self.tier(tier), REASONS[reason], status)
        self._check(code, "migrate")
        return [self.tiers[s] if s >= 0 else _error(-s, f"handle {h}") for h, s in zip(array, status)]

    def tier_of(self, handle):
        """The name of the tier `handle` is in now."""
        return self.tiers[self._check(_lib.folio_tier_of(self._client(), handle), f"handle {handle}")]

    def pin(self, handle):
        """A context manager: the folio does not move inside it, and `as view` is a writable
        memoryview of its bytes (released when the block ends). Each pin counts one access,
        which the daemon's tiering policy ranks folios by."""
        return _Pin(self, handle)

    def stats(self):
        """The daemon's counters."""
        raw = _Stats()
        self._check(_lib.folio_stats(self._client(), ctypes.byref(raw)), "stats")
        counters = {name: getattr(raw, name) for name, _ in _Stats._fields_ if name != "migrator"}
        return Stats(migrator=raw.migrator.decode(), **counters)

    def destroy(self):
        """Destroys the attached space; the client can make no request after it."""
        self._check(_lib.folio_destroy(self._client()), "destroy")


class _Pin:
    def __init__(self, client, handle):
        self._client, self._handle, self._view = client, handle, None

    def __enter__(self):
        data, length = ctypes.c_void_p(), ctypes.c_size_t()
        c = self._client._client()
        self._client._check(_lib.folio_pin(c, self._handle, ctypes.byref(data), ctypes.byref(length)), f"pin {self._handle}")
        self._view = memoryview((ctypes.c_ubyte * length.value).from_address(data.value)).cast("B")
        return self._view

    def __exit__(self, *exc):
        # Released first: a view kept past the pin would read a folio that may move.
        self._view.release()
        _lib.folio_unpin(self._client._client(), self._handle)
