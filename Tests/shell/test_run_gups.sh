# A plain C GUPS program (examples/gups.c) that knows nothing of foliod, under foliod-run with
# the tiering policy on and a fast tier smaller than its table: moved to slow whole, its hot set
# comes back to fast by the heat the runtime's hint-fault scan measures, and its table still
# verifies. The time it took and the folios promoted are printed.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
CBUILD=$REPO/.build-c
write_config '"tiering/enabled" = 1
"tiering/aggregation_interval_ms" = 1000
"tiering/scan_period_ms" = 1000' 64M 512M
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" "$@"; }
running() { ctl ps 2>/dev/null | awk '$2 == "gups" { found = 1 } END { exit !found }'; }

expect_eq "the runtime scans what tiering/scan_size_mb says" "256" "$(ctl stat | awk '$1 == "tiering.scan_size_mb:" { print $2 }')"
# 256 MiB, a hot set of a tenth (26 MiB: 13 folios) taking 90% of the updates.
"$CBUILD/foliod-run" --socket "$SOCK" --name gups -- "$CBUILD/gups" --bytes 256M --hot-fraction 0.1 --seconds 20 > "$WORK/gups.out" 2>&1 &
gups=$!
wait_for running && pass "gups runs under foliod-run" || fail "gups in folioctl ps" "$(ctl ps; cat "$WORK/gups.out")"
echo 0 > "$MNT/tiering/enabled"
# Until its table is whole and its runtime's channel is up, some folios are missing or busy.
end=$((SECONDS + 20))
while out=$(ctl --space gups migrate --all --to slow); [ "$SECONDS" -lt "$end" ] && [ "$(ctl ps | awk '$2 == "gups" { print $4 }')" != "256.0" ]; do sleep 0.2; done
expect_eq "migrate --all moves its 128 folios to slow" "256.0" "$(ctl ps | awk '$2 == "gups" { print $4 }')"
promoted=$(cat "$MNT/tiering/promoted")
echo 1 > "$MNT/tiering/enabled"
start=$SECONDS hot=0
while [ $((SECONDS - start)) -lt 15 ] && [ "$hot" -lt $((20 << 20)) ]; do sleep 0.5; hot=$(cat "$MNT/tiers/fast/hot_bytes"); done
promoted=$(( $(cat "$MNT/tiering/promoted") - promoted ))
[ "$hot" -ge $((20 << 20)) ] && pass "its hot set converges into fast ($((hot >> 20)) MiB hot there after $((SECONDS - start)) s, $promoted folios promoted)" \
    || fail "fast holds $((hot >> 20)) MiB of hot folios after 15 s" "slow hot_bytes $(cat "$MNT/tiers/slow/hot_bytes"), promoted $promoted"
wait "$gups"; status=$?
grep -q "verify ok" "$WORK/gups.out" && pass "... and its table verifies" || fail "gups' verification (status $status)" "$(tail -n 3 "$WORK/gups.out")"
