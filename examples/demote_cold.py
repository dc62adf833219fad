#!/usr/bin/env python3
"""Keeps a small key-value cache in foliod and demotes what it has not touched lately.

Each value lives in its own 4 KiB folio in the fast tier. Reads follow a drifting hot set;
a value untouched for 3 rounds is demoted to the slow tier, and a demoted value read again is
promoted back. At the end every value is checked.

    python3 demote_cold.py /run/foliod/foliod.sock
"""

import sys

import foliod

COUNT, ROUNDS, COLD_AFTER = 64, 12, 3


def value(key):
    return f"value of {key}".encode().ljust(64, b".")


def main(socket):
    with foliod.Client(socket) as c:
        fast, slow = c.tiers[0], c.tiers[-1]
        handles = c.alloc(fast, count=COUNT)
        for key, h in enumerate(handles):
            with c.pin(h) as view:
                view[:64] = value(key)
        last_read = [0] * COUNT
        demoted = promoted = 0
        for round in range(1, ROUNDS + 1):
            hot = [(round * 5 + k) % COUNT for k in range(8)]
            for key in hot:
                with c.pin(handles[key]) as view:
                    assert view[:64] == value(key)
                last_read[key] = round
            warm = [handles[k] for k in hot if c.tier_of(handles[k]) == slow]
            cold = [h for k, h in enumerate(handles) if round - last_read[k] >= COLD_AFTER and c.tier_of(h) != slow]
            if cold:
                demoted += c.migrate(cold, slow, reason="demotion").count(slow)
            if warm:
                promoted += c.migrate(warm, fast, reason="promotion").count(fast)
        intact = 0
        for key, h in enumerate(handles):
            with c.pin(h) as view:
                intact += view[:64] == value(key)
        in_slow = sum(c.tier_of(h) == slow for h in handles)
        print(f"{COUNT} values: {demoted} demoted, {promoted} promoted, {in_slow} in the slow tier now, {intact} of {COUNT} intact")
        return 0 if intact == COUNT and demoted and promoted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "run/foliod.sock"))
