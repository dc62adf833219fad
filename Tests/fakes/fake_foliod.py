#!/usr/bin/env python3
"""A fake foliod for testing clients: it speaks Documentation/PROTOCOL.md (version 1) on a
Unix SOCK_SEQPACKET socket and, per scenario, breaks one rule of it, so a test can check that
a client refuses what it is sent instead of crashing, leaking or trusting it.

Usage:
    fake_foliod.py SOCKET SCENARIO   serve connections on SOCKET until killed (SIGTERM or
                                     SIGINT: exit 0, the socket removed); prints "ready" on
                                     stdout, one line, once it listens
    fake_foliod.py --list            print every scenario's name, one a line
    fake_foliod.py --help            print this text

Python 3 and its standard library only. A socket file already at SOCKET is replaced. Every
scenario but `good` serves correctly except for the one thing its name says, at the point
listed here; a client that does not check goes on to use what it was given.

The daemon it fakes: two tiers, "fast" and "slow", 16 MiB each; folios of order 0-9; the
counters of PROTOCOL.md section 4 (migrator "kernel"); named spaces shared between
connections, each connection with its own pin table; migrate copies a folio with the daemon's
half of the pin protocol (an odd seq, the pin counts read, ten passes, EBUSY). It migrates
only while it answers a request and is not a test of the pin protocol's races: Python has no
sequentially consistent atomics. Blocks are handed out from the top of each tier down.

Scenarios (the attach reply is broken at connect; the others attach correctly first):
    good                         a correct daemon
    short-folio-table            the folio table's memfd is one page short of 4 MiB, and
                                 handles are handed out from 65535 down, so the first folio's
                                 entry is in the missing page (a client that maps it and pins
                                 dies of SIGBUS)
    short-pin-table              the pin table's memfd is one page short of 256 KiB, handles
                                 from 65535 down
    short-tier-memfd             tier "fast"'s memfd is one page shorter than the size the
                                 reply gives it; its first block is in the missing page
    tier-size-2^63               tier "slow" is said to be 2^63 bytes
    too-many-tiers               65 tiers (libfolio's FOLIO_MAX_TIERS is 64), each with its memfd
    fewer-fds                    two tiers, but the memfd of "slow" is left out
    not-a-memfd                  the descriptor for tier "slow" is a pipe
    alloc-fewer-handles          allocate answers one handle fewer than asked
    alloc-handle-out-of-range    allocate answers handle 65536 (the table has 65536 entries)
    free-status-int32min         free answers -2^31 for every handle
    migrate-status-int32min      migrate answers -2^31 for every handle
    migrate-status-unknown-tier  migrate answers tier 2 (there are two tiers: 0 and 1)
    migrate-fewer-statuses       migrate answers one status fewer than handles asked
    error-errno-0                every request after attach is answered with an error reply
                                 carrying errno 0
    wrong-request-id             every reply after attach carries the request id + 1
    truncated-reply              every reply after attach loses its payload's last byte (the
                                 header's length says so; a reply with no payload loses the
                                 header's last byte instead)
    stats-bad-name               the stats reply has a counter named "bad name" (a space in it)
    stopping-then-good           the first 3 connections get ESHUTDOWN with request id 0 and are
                                 closed, as a daemon that is stopping answers; later ones are
                                 served correctly (a client should retry, as across a restart)
    before-features              a daemon from before attach features: an attach with a feature
                                 word is a malformed request (EBADMSG, the connection stays
                                 open); one without is served, and so is everything after

Exit status: 0 when stopped by SIGTERM/SIGINT, 2 for bad usage.
"""

import array
import ctypes
import mmap
import os
import platform
import signal
import socket
import stat
import struct
import sys
import threading
import time

MAGIC, VERSION, HEADER = 0x464F4C49, 1, struct.Struct("<IHHII")
MAX_MESSAGE = 131072
TABLE_ENTRIES, ENTRY_BYTES = 65536, 64
TABLE_BYTES, PIN_BYTES = TABLE_ENTRIES * ENTRY_BYTES, TABLE_ENTRIES * 4
TIER_BYTES, PAGE = 16 << 20, 4096
MAX_HANDLES, MAX_ORDER = 16384, 9
EBUSY, ENOENT, ENOMEM, EINVAL, ENOTCONN, EISCONN, EBADMSG, EOPNOTSUPP, EPROTONOSUPPORT = (
    16, 2, 12, 22, 107, 106, 74, 95, 93)
ESHUTDOWN = 108

SCENARIOS = [
    "good", "short-folio-table", "short-pin-table", "short-tier-memfd", "tier-size-2^63",
    "too-many-tiers", "fewer-fds", "not-a-memfd", "alloc-fewer-handles",
    "alloc-handle-out-of-range", "free-status-int32min", "migrate-status-int32min",
    "migrate-status-unknown-tier", "migrate-fewer-statuses", "error-errno-0",
    "wrong-request-id", "truncated-reply", "stats-bad-name", "stopping-then-good",
    "before-features",
]
# stopping-then-good: the first connections are refused as a stopping daemon refuses them.
STOPPING_REFUSALS = 3
# Counters every stats reply carries besides the per-tier ones, in PROTOCOL.md's order.
COUNTERS = [
    "batches", "folios_migrated", "folios_failed", "folios_busy", "bytes_copied", "unmap_ns",
    "copy_ns", "move_ns", "fallbacks", "copy_faults", "tx_committed", "tx_aborted",
    "tx_frozen_copies", "mtcopy.folios_migrated",
    "mtcopy.folios_failures", "dcbm.folios_migrated", "dcbm.folios_failures", "tiering.demoted",
    "tiering.demoted_bytes", "tiering.demoted_direct", "tiering.promoted",
    "tiering.promoted_bytes", "tiering.aggregations", "tiering.shadow_hits",
]


class Refused(Exception):
    """A request answered with an error reply."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def string(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<H", len(data)) + data


def array_of(fmt, values):
    return struct.pack(f"<I{len(values)}{fmt}", len(values), *values)


def memfd(name, size):
    fd = os.memfd_create(f"fake-foliod-{name}", os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    return fd


class Futex:
    """FUTEX_WAKE through libc, so a pinner asleep on a migrating folio wakes at once (it would
    wake within its 10 ms slice anyway where the syscall number is not known)."""
    NUMBERS = {"x86_64": 202, "aarch64": 98, "riscv64": 98}

    def __init__(self):
        self.number = self.NUMBERS.get(platform.machine())
        self.libc = ctypes.CDLL(None, use_errno=True) if self.number else None

    def wake(self, buffer, offset):
        if self.libc:
            address = ctypes.addressof(ctypes.c_char.from_buffer(buffer, offset))
            self.libc.syscall(ctypes.c_long(self.number), ctypes.c_void_p(address), 1, 0x7FFFFFFF, None, None, 0)


class Tier:
    def __init__(self, name, size, actual):
        self.name, self.size = name, size
        self.fd, self.actual = memfd(f"tier-{name}", actual), actual
        self.map = mmap.mmap(self.fd, actual)
        self.top = min(size, TIER_BYTES)  # blocks go from here down
        self.free = {}  # order -> offsets of freed blocks

    def take(self, order):
        block = PAGE << order
        if self.free.get(order):
            return self.free[order].pop()
        start = (self.top - block) & ~(block - 1)
        if start < 0:
            return None
        self.top = start
        return start

    def give(self, order, offset):
        self.free.setdefault(order, []).append(offset)

    def free_bytes(self):
        return self.top + sum((PAGE << o) * len(v) for o, v in self.free.items())

    def holds(self, offset, size):
        """Whether the block is inside the memfd (short-tier-memfd leaves a page out)."""
        return offset + size <= self.actual

    def close(self):
        self.map.close()
        os.close(self.fd)


class Space:
    """An address space: its folio table, its tiers and its folios."""

    def __init__(self, server, number):
        self.server, self.number, self.scenario = server, number, server.scenario
        scenario = self.scenario
        table_size = TABLE_BYTES - (PAGE if scenario == "short-folio-table" else 0)
        self.table_fd = memfd("table", table_size)
        self.table = mmap.mmap(self.table_fd, table_size)
        if scenario == "too-many-tiers":
            self.tiers = [Tier(f"t{i}", 1 << 20, 1 << 20) for i in range(65)]
        else:
            fast_actual = TIER_BYTES - (PAGE if scenario == "short-tier-memfd" else 0)
            self.tiers = [Tier("fast", TIER_BYTES, fast_actual), Tier("slow", TIER_BYTES, TIER_BYTES)]
            if scenario == "tier-size-2^63":
                self.tiers[1].size = 1 << 63
        self.folios = {}  # handle -> (tier index, offset, order)
        self.pin_maps = []  # the pin table of every connection attached
        self.attached = 0
        # Handles from 0 up, or from 65535 down so that the first folio's entry and pin count
        # are in the page a short table lacks; freed handles are taken again first.
        self.from_top = scenario in ("short-folio-table", "short-pin-table")
        self.cursor, self.freed_handles = 0, []

    # Shared memory is read and written where it exists: a short table's missing page is the
    # client's SIGBUS, not the fake's.
    @staticmethod
    def load(buffer, fmt, at):
        return struct.unpack_from(fmt, buffer, at)[0] if at + struct.calcsize(fmt) <= len(buffer) else 0

    @staticmethod
    def store(buffer, fmt, at, value):
        if at + struct.calcsize(fmt) <= len(buffer):
            struct.pack_into(fmt, buffer, at, value)

    def seq(self, handle):
        return self.load(self.table, "<I", ENTRY_BYTES * handle)

    def set_seq(self, handle, seq):
        self.store(self.table, "<I", ENTRY_BYTES * handle, seq)

    def write_entry(self, handle, state, order, tier, offset):
        at = ENTRY_BYTES * handle
        self.store(self.table, "<B", at + 8, state)
        self.store(self.table, "<B", at + 10, order)
        self.store(self.table, "<Q", at + 16, tier << 56 | offset)

    def pinned(self, handle):
        return any(self.load(pins, "<I", 4 * handle) for pins in self.pin_maps)

    def free_handle(self):
        if self.freed_handles:
            return self.freed_handles.pop()
        if self.cursor == TABLE_ENTRIES:
            return None
        self.cursor += 1
        return TABLE_ENTRIES - self.cursor if self.from_top else self.cursor - 1

    def allocate(self, tier, order, count):
        if tier >= len(self.tiers) or order > MAX_ORDER or not 1 <= count <= MAX_HANDLES:
            raise Refused(EINVAL, "allocate")
        taken = []
        for _ in range(count):
            handle, offset = self.free_handle(), self.tiers[tier].take(order)
            if handle is None or offset is None:
                if offset is not None:
                    self.tiers[tier].give(order, offset)
                if handle is not None:
                    self.freed_handles.append(handle)
                for h in taken:
                    self.release(h)
                raise Refused(ENOMEM, "allocate")
            self.folios[handle] = (tier, offset, order)
            self.write_entry(handle, 1, order, tier, offset)
            taken.append(handle)
        return taken

    def release(self, handle):
        tier, offset, order = self.folios.pop(handle)
        self.tiers[tier].give(order, offset)
        self.write_entry(handle, 0, 0, 0, 0)
        self.freed_handles.append(handle)

    def free(self, handle):
        if handle not in self.folios:
            return -ENOENT
        if self.pinned(handle):
            return -EBUSY
        self.release(handle)
        return 0

    def migrate(self, handle, target):
        """The daemon's half of the pin protocol: seq odd, look at the pins, copy, seq even."""
        if handle not in self.folios:
            return -ENOENT
        tier, offset, order = self.folios[handle]
        if tier == target:
            return target
        seq = self.seq(handle)
        for _ in range(10):
            self.set_seq(handle, seq + 1)
            if not self.pinned(handle):
                break
            self.set_seq(handle, seq)
            self.wake(handle)
            time.sleep(0.001)
        else:
            self.server.count("folios_busy")
            return -EBUSY
        destination = self.tiers[target].take(order)
        if destination is None:
            self.set_seq(handle, seq)
            self.wake(handle)
            self.server.count("folios_failed")
            return -ENOMEM
        size, source, goal = PAGE << order, self.tiers[tier], self.tiers[target]
        if source.holds(offset, size) and goal.holds(destination, size):
            goal.map[destination:destination + size] = source.map[offset:offset + size]
        self.write_entry(handle, 1, order, target, destination)
        self.folios[handle] = (target, destination, order)
        self.tiers[tier].give(order, offset)
        self.set_seq(handle, seq + 2)
        self.wake(handle)
        self.server.count("folios_migrated")
        self.server.count("bytes_copied", size)
        return target

    def wake(self, handle):
        if self.load(self.table, "<I", ENTRY_BYTES * handle + 12):
            self.server.futex.wake(self.table, ENTRY_BYTES * handle)

    def close(self):
        self.table.close()
        os.close(self.table_fd)
        for tier in self.tiers:
            tier.close()


class Connection:
    """One client: its attachment, its pin table, and the scenario's breakage of its replies."""

    def __init__(self, server, sock):
        self.server, self.sock, self.scenario = server, sock, server.scenario
        self.space, self.name, self.pin_fd, self.pins = None, None, None, None
        self.after_attach = False  # the scenarios that break every reply start after attach

    def serve(self):
        try:
            while True:
                message = self.sock.recv(MAX_MESSAGE + 1)
                if not message:
                    return
                with self.server.lock:
                    reply, fds = self.answer(message)
                    try:
                        self.send(reply, fds)
                    finally:
                        for fd in fds.get("close", []):
                            os.close(fd)
        except OSError:
            return
        finally:
            with self.server.lock:
                self.detach()
            self.sock.close()

    def send(self, reply, fds):
        if fds.get("send"):
            self.sock.sendmsg([reply], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds["send"]))])
        else:
            self.sock.send(reply)

    def answer(self, message):
        """The reply to one message, and the fds to send with it and to close after."""
        if len(message) < HEADER.size:
            return self.error(0, EBADMSG, "short message"), {}
        magic, version, kind, request_id, length = HEADER.unpack_from(message)
        if magic != MAGIC or length != len(message) - HEADER.size or len(message) > MAX_MESSAGE:
            return self.error(request_id, EBADMSG, "header"), {}
        if version != VERSION:
            return self.error(request_id, EPROTONOSUPPORT, "version"), {}
        payload, fds = message[HEADER.size:], {}
        try:
            kind, body = self.request(kind, payload, fds)
        except Refused as refused:
            kind, body = 0xFF, struct.pack("<i", refused.code) + string(refused.message)
        except struct.error:
            kind, body = 0xFF, struct.pack("<i", EBADMSG) + string("payload")
        return self.broken(kind, request_id, body), fds

    def broken(self, kind, request_id, body):
        """The reply as the scenario sends it."""
        if kind == 0x81 or not self.after_attach:
            return self.message(kind, request_id, body)
        if self.scenario == "error-errno-0":
            return self.message(0xFF, request_id, struct.pack("<i", 0) + string("fake: errno 0"))
        if self.scenario == "wrong-request-id":
            return self.message(kind, (request_id + 1) & 0xFFFFFFFF, body)
        if self.scenario == "truncated-reply":
            return self.message(kind, request_id, body[:-1]) if body else self.message(kind, request_id, b"")[:-1]
        return self.message(kind, request_id, body)

    @staticmethod
    def message(kind, request_id, body):
        return HEADER.pack(MAGIC, VERSION, kind, request_id, len(body)) + body

    def error(self, request_id, code, text):
        return self.message(0xFF, request_id, struct.pack("<i", code) + string(text))

    def request(self, kind, payload, fds):
        handlers = {1: self.attach, 2: self.allocate, 3: self.free, 4: self.migrate, 5: self.stats, 6: self.destroy}
        if kind not in handlers:
            raise Refused(EOPNOTSUPP, "kind")
        if kind not in (1, 5) and self.space is None:
            raise Refused(ENOTCONN, "not attached")
        return handlers[kind](payload, fds)

    def attach(self, payload, fds):
        if self.space is not None:
            raise Refused(EISCONN, "attach")
        (length,) = struct.unpack_from("<H", payload)
        name = payload[2:2 + length]
        # The name, then an optional u32 of features (marks_writes, bit 0, the one known).
        if len(payload) not in (2 + length, 6 + length):
            raise Refused(EBADMSG, "attach")
        if len(payload) == 6 + length and self.scenario == "before-features":
            raise Refused(EBADMSG, "malformed request")
        if len(payload) == 6 + length and struct.unpack_from("<I", payload, 2 + length)[0] & ~1:
            raise Refused(EINVAL, "attach")
        self.space = self.server.space(name or None)
        self.name = name or None
        self.space.attached += 1
        pin_size = PIN_BYTES - (PAGE if self.scenario == "short-pin-table" else 0)
        self.pin_fd = memfd("pins", pin_size)
        self.pins = mmap.mmap(self.pin_fd, pin_size)
        self.space.pin_maps.append(self.pins)
        tiers = self.space.tiers
        body = struct.pack("<IH", self.space.number, len(tiers))
        body += b"".join(string(t.name) + struct.pack("<Q", t.size) for t in tiers)
        sent = [self.space.table_fd, self.pin_fd] + [t.fd for t in tiers]
        if self.scenario == "fewer-fds":
            sent = sent[:-1]
        if self.scenario == "not-a-memfd":
            read_end, write_end = os.pipe()
            sent[-1] = read_end
            fds["close"] = [read_end, write_end]
        fds["send"] = sent
        self.after_attach = True
        return 0x81, body

    def allocate(self, payload, fds):
        tier, order, count = struct.unpack("<HBI", payload)
        handles = self.space.allocate(tier, order, count)
        if self.scenario == "alloc-fewer-handles":
            handles = handles[:-1]
        if self.scenario == "alloc-handle-out-of-range":
            handles[-1] = TABLE_ENTRIES
        return 0x82, array_of("I", handles)

    @staticmethod
    def handles(payload, at):
        (count,) = struct.unpack_from("<I", payload, at)
        if len(payload) != at + 4 + 4 * count:
            raise Refused(EBADMSG, "array")
        if not 1 <= count <= MAX_HANDLES:
            raise Refused(EINVAL, "handles")
        return list(struct.unpack_from(f"<{count}I", payload, at + 4))

    def free(self, payload, fds):
        status = [self.space.free(h) for h in self.handles(payload, 0)]
        if self.scenario == "free-status-int32min":
            status = [-2**31] * len(status)
        return 0x83, array_of("i", status)

    def migrate(self, payload, fds):
        tier, reason = struct.unpack_from("<HB", payload)
        handles = self.handles(payload, 3)
        if tier >= len(self.space.tiers) or reason > 3 or len(set(handles)) != len(handles):
            raise Refused(EINVAL, "migrate")
        started = time.monotonic_ns()
        status = [self.space.migrate(h, tier) for h in handles]
        self.server.count("batches")
        self.server.count("copy_ns", time.monotonic_ns() - started)
        if self.scenario == "migrate-status-int32min":
            status = [-2**31] * len(status)
        if self.scenario == "migrate-status-unknown-tier":
            status = [len(self.space.tiers)] * len(status)
        if self.scenario == "migrate-fewer-statuses":
            status = status[:-1]
        return 0x84, struct.pack("<QQQI", 0, self.server.counters["copy_ns"], 0, 1) + array_of("i", status)

    def stats(self, payload, fds):
        if payload:
            raise Refused(EBADMSG, "stats")
        counters = [(name, self.server.counters.get(name, 0)) for name in COUNTERS]
        tiers = self.space.tiers if self.space else self.server.space(None, keep=False).tiers
        for tier in tiers:
            counters += [(f"tier.{tier.name}.size", tier.size), (f"tier.{tier.name}.free_bytes", tier.free_bytes()),
                         (f"tier.{tier.name}.hot_bytes", 0), (f"tier.{tier.name}.shadow_bytes", 0)]
        if self.scenario == "stats-bad-name":
            counters.insert(3, ("bad name", 1))
        body = string("kernel") + struct.pack("<H", len(counters))
        body += b"".join(string(name) + struct.pack("<Q", value) for name, value in counters)
        return 0x85, body

    def destroy(self, payload, fds):
        if payload:
            raise Refused(EBADMSG, "destroy")
        self.server.forget(self.name)
        self.detach()
        return 0x86, b""

    def detach(self):
        if self.space is None:
            return
        self.space.pin_maps.remove(self.pins)
        self.pins.close()
        os.close(self.pin_fd)
        self.space.attached -= 1
        self.server.drop(self.space)
        self.space = None


class Server:
    def __init__(self, scenario):
        self.scenario, self.lock = scenario, threading.Lock()
        self.named, self.numbers, self.futex = {}, 0, Futex()
        self.counters = {name: 0 for name in COUNTERS}
        self._scratch = None

    def count(self, name, amount=1):
        self.counters[name] = self.counters.get(name, 0) + amount

    def space(self, name, keep=True):
        """The named space (created if missing), or a new anonymous one; keep=False: a
        template whose tiers answer a stats request before attach."""
        if not keep:
            if self._scratch is None:
                self._scratch = Space(self, 0)
            return self._scratch
        if name is not None and name in self.named:
            return self.named[name]
        self.numbers += 1
        space = Space(self, self.numbers)
        if name is not None:
            self.named[name] = space
        return space

    def forget(self, name):
        """destroy: the name goes now, the memory with its last connection."""
        if name is not None:
            self.named.pop(name, None)

    def drop(self, space):
        if space.attached == 0 and (space not in self.named.values()):
            space.close()


def listen(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.bind(path)
    sock.listen(64)
    return sock


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) == 2 and argv[1] in ("--help", "-h"):
        print(__doc__)
        return 0
    if len(argv) != 3 or argv[2] not in SCENARIOS:
        print("usage: fake_foliod.py SOCKET SCENARIO | --list | --help", file=sys.stderr)
        if len(argv) == 3:
            print(f"fake_foliod.py: no scenario {argv[2]!r}; --list names them", file=sys.stderr)
        return 2
    path, scenario = argv[1], argv[2]
    server, sock = Server(scenario), listen(path)

    def stop(signum, frame):
        try:
            os.unlink(path)
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    accepted = 0
    while True:
        client, _ = sock.accept()
        accepted += 1
        if scenario == "stopping-then-good" and accepted <= STOPPING_REFUSALS:
            client.send(Connection(server, client).error(0, ESHUTDOWN, "the daemon is stopping"))
            client.close()
            continue
        threading.Thread(target=Connection(server, client).serve, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
