"""The daemon's counters by name (libfolio's FOLIO_2: folio_stat, folio_stat_list): against the
real daemon every counter of PROTOCOL.md section 4 is there, and against the fake a reply that
breaks the protocol is EBADMSG."""

import errno

import pytest

import foliod

# PROTOCOL.md section 4, for a daemon with the tiers fast and slow.
NAMES = [
    "batches", "folios_migrated", "folios_failed", "folios_busy", "bytes_copied", "unmap_ns",
    "copy_ns", "move_ns", "fallbacks", "copy_faults", "tx_committed", "tx_aborted",
    "tx_frozen_copies", "mtcopy.folios_migrated",
    "mtcopy.folios_failures", "dcbm.folios_migrated", "dcbm.folios_failures", "tiering.demoted",
    "tiering.demoted_bytes", "tiering.demoted_direct", "tiering.promoted", "tiering.promoted_bytes",
    "tiering.aggregations", "tiering.shadow_hits", "tier.fast.size", "tier.fast.free_bytes",
    "tier.fast.hot_bytes", "tier.fast.shadow_bytes", "tier.slow.size", "tier.slow.free_bytes",
    "tier.slow.hot_bytes", "tier.slow.shadow_bytes", "tier.fast.watermark_min", "tier.fast.watermark_low",
    "tier.fast.watermark_high", "tier.slow.watermark_min", "tier.slow.watermark_low", "tier.slow.watermark_high",
    "kernel.folios_migrated", "reason.syscall.folios_migrated", "reason.demotion.folios_migrated", "reason.promotion.folios_migrated",
    "reason.compaction.folios_migrated", "batch_latency.p50_ns", "batch_latency.p99_ns", "first_folio_latency.p50_ns",
    "first_folio_latency.p99_ns", "service.sessions", "service.named_spaces", "service.refused.EACCES",
    "service.refused.EUSERS", "service.refused.ESHUTDOWN", "service.refused.EAGAIN", "service.refused.EMFILE",
    "service.refused.ENFILE", "service.refused.ETIMEDOUT", "service.refused.EDQUOT", "service.refused.ENOSPC",
    "tiering.scan_period_ms", "tiering.scan_size_mb",
]
# Version 1's list, which the fake daemon sends; the rest was appended later (clients skip what they do not know).
VERSION_1 = NAMES[:NAMES.index("tier.fast.watermark_min")]


def test_every_counter_by_name(daemon):
    with foliod.Client(daemon.socket) as c:
        counters = c.counters()
        assert list(counters) == NAMES
        assert counters["tier.fast.size"] == c.stat("tier.fast.size") == 64 << 20
        stats = c.stats()
        assert all(counters[name] == getattr(stats, name) for name in ("batches", "folios_migrated", "bytes_copied"))


def test_a_counter_follows_what_happens(daemon):
    with foliod.Client(daemon.socket) as c:
        free, migrated = c.stat("tier.slow.free_bytes"), c.stat("folios_migrated")
        handles = c.alloc("fast", order=2, count=2)
        assert c.migrate(handles, "slow") == ["slow", "slow"]
        assert c.stat("tier.slow.free_bytes") == free - 2 * 16384
        assert c.counters()["folios_migrated"] == migrated + 2


@pytest.mark.parametrize("name, error", [
    ("no.such.counter", KeyError), ("", KeyError), ("batches\0x", ValueError), (b"batches", TypeError),
])
def test_a_name_the_daemon_does_not_send(daemon, name, error):
    with foliod.Client(daemon.socket) as c:
        with pytest.raises(error):
            c.stat(name)


def test_counters_from_the_fake(fake):
    with foliod.Client(fake("good")) as c:
        assert list(c.counters()) == VERSION_1 and c.stat("tier.fast.size") == 16 << 20


@pytest.mark.parametrize("scenario, call", [
    ("stats-bad-name", lambda c: c.counters()),
    ("error-errno-0", lambda c: c.stat("batches")),
    ("truncated-reply", lambda c: c.counters()),
    ("wrong-request-id", lambda c: c.stat("tier.fast.size")),
])
def test_a_lying_stats_reply_is_ebadmsg(fake, scenario, call):
    with foliod.Client(fake(scenario)) as c:
        with pytest.raises(OSError) as raised:
            call(c)
        assert raised.value.errno == errno.EBADMSG
