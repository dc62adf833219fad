# The tiering policy, steered as an operator would: its knobs, demotion under pressure when a
# client allocates past the fast tier, and foliobench gups against the daemon.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}" "${FOLIOBENCH:?FOLIOBENCH must name the foliobench binary}"
write_config ''
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" --space tiered "$@"; }

expect_eq "tiering is off by default" "0" "$(cat "$MNT/tiering/enabled")"
# 256 MiB: min = 4 × √262144 KiB = 2 MiB; the gap is the larger of min/4 and 0.1% (512 KiB).
expect_eq "watermarks default as the kernel computes them" "2097152 2621440 3145728" \
    "$(cat "$MNT/tiers/fast/watermark_min") $(cat "$MNT/tiers/fast/watermark_low") $(cat "$MNT/tiers/fast/watermark_high")"

for bad in "maybe:tiering/enabled" "0:tiering/aggregation_interval_ms" "600001:tiering/scan_period_ms" "0:tiering/hot_threshold" \
           "-1:tiering/promote_rate_limit_MBps" "$((300 << 20)):tiers/fast/watermark_high" "1048576:tiers/fast/watermark_high" \
           "4194304:tiers/fast/watermark_min" "-5:tiers/fast/watermark_low" "12abc:tiers/slow/watermark_low"; do
    value=${bad%%:*} knob=${bad#*:}
    before=$(cat "$MNT/$knob")
    err=$( { echo "$value" > "$MNT/$knob"; } 2>&1)
    expect_contains "echo $value > $knob: Invalid argument" "write error: Invalid argument" "$err"
    expect_eq "... and $knob keeps $before" "$before" "$(cat "$MNT/$knob")"
done
err=$( { echo 1 > "$MNT/tiering/demoted"; } 2>&1)
expect_contains "the counters are read-only" "Permission denied" "$err"
err=$( { echo 1 > "$MNT/tiers/fast/hot_bytes"; } 2>&1)
expect_contains "hot_bytes is read-only" "Permission denied" "$err"

# Off: a full fast tier is ENOMEM, as always.
first=$(ctl alloc --tier fast --order 9 --count 128)
ctl fill --seed 3 $first || fail "fill the fast tier"
out=$(ctl alloc --tier fast --order 9 --count 8 2>&1)
expect_contains "with tiering off, past the fast tier is ENOMEM" "ENOMEM" "$out"
expect_eq "... and nothing was demoted" "0 0" "$(cat "$MNT/tiering/demoted") $(cat "$MNT/tiers/slow/folios_per_order" | awk '{print $10}')"

# On: the same allocation demotes the coldest folios first and succeeds.
echo y > "$MNT/tiering/enabled"
expect_eq "echo y > tiering/enabled turns it on (kstrtobool)" "1" "$(cat "$MNT/tiering/enabled")"
second=$(ctl alloc --tier fast --order 9 --count 64)
expect_eq "with tiering on, allocating past the fast tier succeeds" "64" "$(printf '%s\n' $second | wc -l)"
ctl fill --seed 4 $second || fail "fill the new folios"
demoted=$(cat "$MNT/tiering/demoted") direct=$(cat "$MNT/tiering/demoted_direct")
# Turning the policy on woke its thread, which brought fast up to watermark_high first.
[ "$demoted" -ge 64 ] && [ "$direct" -gt 0 ] && pass "the allocation demoted first ($direct of $demoted folios demoted directly)" \
    || fail "demoted $demoted, directly $direct"
free=$(cat "$MNT/tiers/fast/free_bytes")
[ "$free" -ge "$(cat "$MNT/tiers/fast/watermark_min")" ] && pass "fast keeps watermark_min free ($free)" || fail "fast free_bytes $free"
ctl verify --seed 3 $first && pass "every demoted folio kept its bytes" || fail "the first folios' bytes"
ctl verify --seed 4 $second && pass "every new folio kept its bytes" || fail "the new folios' bytes"

# Touched folios in slow come back up, swapping out the untouched ones; the rate limit holds
# promotion to 2 MiB a second. The toucher is a loop of folioctl runs, as slow as the machine
# is busy: a threshold of 2 makes one pin a second enough to be hot, and the checks wait for
# the first promotion (30 s at most) instead of a fixed span. From then on a 2.5 s span meets
# at most 4 one-second windows: 8 MiB, where unlimited would bring the other 7 folios (14 MiB).
echo 2 > "$MNT/tiering/promote_rate_limit_MBps"
echo 50 > "$MNT/tiering/scan_period_ms"
echo 2 > "$MNT/tiering/hot_threshold"
echo 1000 > "$MNT/tiering/aggregation_interval_ms"
touched=$(printf '%s\n' $first | head -n 8)
ctl migrate --to slow --reason demotion $touched >/dev/null
before=$(cat "$MNT/tiering/promoted_bytes")
( while :; do ctl verify --seed 3 $touched >/dev/null; done ) &
toucher=$!
first_promoted=0 hot=0 end=$((SECONDS + 30))
while [ "$SECONDS" -lt "$end" ] && { [ "$first_promoted" -eq 0 ] || [ "$hot" -eq 0 ]; }; do
    first_promoted=$(( $(cat "$MNT/tiering/promoted_bytes") - before ))
    hot=$(cat "$MNT/tiers/slow/hot_bytes")
    sleep 0.1
done
[ "$first_promoted" -gt 0 ] && pass "touched folios are promoted ($first_promoted bytes first)" || fail "promoted nothing in 30 s"
[ "$hot" -gt 0 ] && pass "tiers/slow/hot_bytes counts the touched folios ($hot)" || fail "slow hot_bytes $hot"
sleep 2.5
promoted=$(( $(cat "$MNT/tiering/promoted_bytes") - before - first_promoted ))
[ "$promoted" -le $((4 * 2 << 20)) ] \
    && pass "... at most 2 MiB a second ($promoted bytes in the next 2.5 s)" || fail "promoted $promoted bytes in 2.5 s"
kill "$toucher"; wait "$toucher" 2>/dev/null
ctl verify --seed 3 $touched && pass "... with every byte" || fail "the promoted folios' bytes"

echo 0 > "$MNT/tiering/enabled"
moved=$(( $(cat "$MNT/tiering/demoted") + $(cat "$MNT/tiering/promoted") ))
sleep 0.5
expect_eq "turned off, nothing moves by itself" "$moved" "$(( $(cat "$MNT/tiering/demoted") + $(cat "$MNT/tiering/promoted") ))"
ctl destroy

# gups: a working set 1.5 × the fast tier, a hot set of a quarter of it, moved halfway.
echo 65536 > "$MNT/tiering/promote_rate_limit_MBps"
out=$("$FOLIOBENCH" --socket "$SOCK" gups --mount "$MNT" --seconds 6 --migrators kernel,mtcopy:2 --plot "$WORK/gups.svg" 2>&1)
expect_contains "gups prints a summary row per setting" "mtcopy:2" "$(printf '%s\n' "$out" | tail -n 2)"
expect_eq "gups prints a line per second per setting" "12" "$(printf '%s\n' "$out" | grep -cE '^(kernel|mtcopy:2) +[0-9]+ ')"
expect_contains "gups says what the figures mean on equal tiers" "same memory: updates/s cannot show a faster tier" "$out"
grep -q '<polyline' "$WORK/gups.svg" && pass "gups --plot draws the share over time" || fail "gups --plot"
expect_eq "gups restores tiering/enabled" "0" "$(cat "$MNT/tiering/enabled")"
out=$("$FOLIOBENCH" --socket "$SOCK" gups --mount "$MNT" --working-set 64K --hot-set 64K 2>&1); status=$?
expect_eq "gups refuses a working set that cannot hold two hot sets" "1" "$status"
expect_contains "... and says why" "the working set (64K) two hot sets" "$out"
"$FOLIOBENCH" --socket "$SOCK" gups --mount "$MNT" --seconds 60 --migrators kernel > "$WORK/gups.out" 2>&1 &
gups=$!
# Its working set takes a while to allocate in a debug build: up to 60 s for two samples.
for _ in $(seq 600); do grep -q '^kernel  *2 ' "$WORK/gups.out" && break; sleep 0.1; done
expect_eq "gups runs with the policy on" "1" "$(cat "$MNT/tiering/enabled")"
kill -INT "$gups"; wait "$gups"; status=$?
expect_eq "gups stops on SIGINT with status 130" "130" "$status"
expect_contains "... prints what it measured" "interrupted: the figures above are what ran" "$(cat "$WORK/gups.out")"
expect_contains "... with the summary row" "stopped before" "$(tail -n 2 "$WORK/gups.out")"
expect_eq "... and puts tiering/enabled back" "0" "$(cat "$MNT/tiering/enabled")"
wait_for test "$(cat "$MNT/tiers/fast/free_bytes")" = 268435456
expect_eq "gups leaves every byte of both tiers free" "268435456 268435456" "$(cat "$MNT/tiers/fast/free_bytes") $(cat "$MNT/tiers/slow/free_bytes")"
stop_daemon TERM
