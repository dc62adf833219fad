# Readers never wait: migration/transactional and tiering/shadows steered from the shell, a
# clean folio demoted back to its shadow with no byte copied, a written one copied, a read pin
# that a migration commits after, and the load tools' reader and read-ratio runs.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}" "${FOLIOBENCH:?FOLIOBENCH must name the foliobench binary}"
write_config ''
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" --space readers "$@"; }
copied() { cat "$MNT/migration/stats/bytes_copied"; }

expect_eq "transactional batches and shadows are on by default" "1 1" "$(cat "$MNT/migration/transactional") $(cat "$MNT/tiering/shadows")"
for knob in migration/transactional tiering/shadows; do
    err=$( { echo maybe > "$MNT/$knob"; } 2>&1)
    expect_contains "echo maybe > $knob: Invalid argument" "write error: Invalid argument" "$err"
    expect_eq "... and $knob keeps 1" "1" "$(cat "$MNT/$knob")"
done
for knob in tiering/shadow_hits tiers/slow/shadow_bytes migration/stats/tx_committed; do
    err=$( { echo 0 > "$MNT/$knob"; } 2>&1)
    expect_contains "$knob is read-only" "Permission denied" "$err"
done

# Promoted with reason promotion: the old block stays in slow as the shadow.
handles=$(ctl alloc --tier slow --order 9 --count 4)
ctl fill --seed 5 $handles || fail "fill"
ctl migrate --to fast --reason promotion $handles >/dev/null
expect_eq "a promotion leaves a shadow of each folio in slow" "$((4 << 21))" "$(cat "$MNT/tiers/slow/shadow_bytes")"
expect_eq "... which the watermarks count as free" "$((256 << 20))" "$(( $(cat "$MNT/tiers/slow/free_bytes") + $(cat "$MNT/tiers/slow/shadow_bytes") ))"
ctl verify --seed 5 $handles || fail "verify after the promotion"
before=$(copied)
ctl migrate --to slow --reason demotion $handles >/dev/null
expect_eq "a clean folio demoted back copies no byte" "$before" "$(copied)"
expect_eq "... each move was a shadow hit" "4" "$(cat "$MNT/tiering/shadow_hits")"
expect_eq "... and no shadow is left" "0" "$(cat "$MNT/tiers/slow/shadow_bytes")"
ctl verify --seed 5 $handles && pass "... and every byte is intact" || fail "... and every byte is intact"

# Written after the promotion: the shadow is stale, the demotion copies the new bytes.
ctl migrate --to fast --reason promotion $handles >/dev/null
ctl fill --seed 6 $handles || fail "fill again"
before=$(copied)
ctl migrate --to slow --reason demotion $handles >/dev/null
expect_eq "a folio written since its promotion is copied down" "$((before + (4 << 21)))" "$(copied)"
ctl verify --seed 6 $handles && pass "... with the write" || fail "... with the write"

# Shadows off: a promotion keeps none, and turning it off drops those kept.
ctl migrate --to fast --reason promotion $handles >/dev/null
echo 0 > "$MNT/tiering/shadows"
expect_eq "echo 0 > tiering/shadows drops the shadows kept" "0 $((256 << 20))" "$(cat "$MNT/tiers/slow/shadow_bytes") $(cat "$MNT/tiers/slow/free_bytes")"
echo 1 > "$MNT/tiering/shadows"

# A read pin held: the folio is copied meanwhile but cannot commit; once it ends, it moves.
one=${handles%%$'\n'*}
ctl hold --read --seconds 2 $one > "$WORK/hold.out" &
hold=$!
wait_for grep -q pinned "$WORK/hold.out" || fail "the read pin is held"
committed=$(cat "$MNT/migration/stats/tx_committed")
out=$(ctl migrate --to slow $one)
expect_contains "a folio read-pinned through every commit pass is EBUSY" "EBUSY" "$out"
wait $hold
ctl migrate --to slow $one >/dev/null
expect_eq "... and once the pin ends it commits from an unfrozen copy" "$((committed + 1))" "$(cat "$MNT/migration/stats/tx_committed")"
ctl verify --seed 6 $one || fail "verify after the read pin"

# The same with transactional batches off: every batch is frozen, nothing commits unfrozen.
echo 0 > "$MNT/migration/transactional"
committed=$(cat "$MNT/migration/stats/tx_committed")
ctl migrate --to fast $handles >/dev/null
expect_eq "with transactional 0 nothing is committed unfrozen" "$committed" "$(cat "$MNT/migration/stats/tx_committed")"
echo 1 > "$MNT/migration/transactional"
ctl verify --seed 6 $handles && pass "... and the frozen copy keeps every byte" || fail "... and the frozen copy keeps every byte"

# The load tools: readers during every cell, both settings; GUPS with reads, both shadow settings.
out=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --readers 2 --sizes 2M --count 16 --migrators kernel --reader-seconds 0.5 2>&1)
expect_eq "bench --readers exits 0 (no reader saw a wrong byte)" "0" "$?"
expect_contains "... with the no-migration baseline" "(no migration)" "$out"
expect_eq "... and a row per transactional setting, 0 wrong" "2" "$(printf '%s\n' "$out" | awk '$3 == "kernel" && ($4 == 0 || $4 == 1) && $NF == 0' | wc -l)"
expect_eq "... and transactional is back to 1" "1" "$(cat "$MNT/migration/transactional")"
# More folios than one request carries: the moves go in requests of 16,384, as the bench's own.
"$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --readers 1 --sizes 4K --count 20000 --migrators kernel --reader-seconds 0.2 > "$WORK/many.out" 2>&1
expect_eq "bench --readers with 20,000 folios (two requests a move) exits 0" "0" "$?"
out=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --sizes 64K --count 64 --reps 1 --migrators kernel/tx0,kernel/tx1 2>&1)
expect_eq "bench --migrators kernel/tx0,kernel/tx1: a row for each, side by side" "kernel/tx0 kernel/tx1" \
    "$(printf '%s\n' "$out" | awk '$1 == "64K" && $3 ~ /^kernel\// { printf "%s%s", sep, $3; sep=" " }')"
expect_eq "... and transactional is back to 1" "1" "$(cat "$MNT/migration/transactional")"
out=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --migrators kernel/tx2 2>&1)
expect_contains "a setting kernel/tx2 is refused" "kernel/tx2" "$out"
out=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --readers 65 --sizes 2M 2>&1)
expect_contains "bench --readers 65 is refused" "--readers must be 0 to 64" "$out"
out=$("$FOLIOBENCH" --socket "$SOCK" gups --mount "$MNT" --seconds 2 --working-set 96M --hot-set 16M --folio 2M --read-ratio 0.9 --migrators kernel 2>&1)
expect_eq "gups --read-ratio exits 0" "0" "$?"
expect_eq "... with a row per shadows setting" "on off" "$(printf '%s\n' "$out" | awk '$1 == "kernel" && ($(NF-2) == "on" || $(NF-2) == "off") { printf "%s%s", sep, $(NF-2); sep=" " }')"
out=$("$FOLIOBENCH" --socket "$SOCK" gups --mount "$MNT" --read-ratio 1.5 2>&1)
expect_contains "gups --read-ratio 1.5 is refused" "--read-ratio must be from 0 to 1" "$out"
expect_eq "... and tiering/shadows is as it was" "1" "$(cat "$MNT/tiering/shadows")"

stop_daemon TERM
expect_eq "SIGTERM exits 0" "0" "$STATUS"
