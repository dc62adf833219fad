# A program under foliod-run when something dies or stops: SIGKILL of the daemon mid-run (the
# program finishes with correct results), SIGKILL of the program (the daemon serves on and its
# folios are freed), SIGSTOP of the program during migrations (the daemon serves others within
# migration/revoke_timeout_ms, and the program finishes correctly once it goes on).
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
RUN=$REPO/.build-c/foliod-run
write_config '"migration/revoke_timeout_ms" = 300'
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" "$@"; }
running() { ctl ps 2>/dev/null | awk -v name="$1" '$2 == name { found = 1 } END { exit !found }'; }
memtester_ok() {  # memtester_ok OUT STATUS DESCRIPTION
    if [ "$2" -eq 0 ] && ! grep -q FAILURE "$1" && grep -q "Done" "$1"; then pass "$3"; else fail "$3" "status $2: $(tr '\r' '\n' < "$1" | grep -v '^ *$' | tail -n 3)"; fi
}

# SIGKILL of the program: the daemon frees its folios and serves on.
"$RUN" --socket "$SOCK" --name victim -- memtester 64M 50 > "$WORK/victim.out" 2>&1 &
victim=$!
wait_for running victim && pass "a program under foliod-run shows in folioctl ps" || fail "ps shows the victim" "$(ctl ps)"
sleep 0.5
used=$(( (256 << 20) - $(cat "$MNT/tiers/fast/free_bytes") ))
[ "$used" -ge $((64 << 20)) ] && pass "... holding its 64 MiB in fast ($used bytes)" || fail "the victim holds $used bytes of fast"
ctl --space victim migrate --all --to slow > /dev/null
kill -9 "$victim"; wait "$victim" 2>/dev/null
wait_for test "$(cat "$MNT/tiers/slow/free_bytes")" -eq $((256 << 20)) && pass "SIGKILL of the program frees its folios" \
    || fail "slow free_bytes after the kill" "$(cat "$MNT/tiers/slow/free_bytes")"
out=$(ctl alloc --tier fast --count 2)
expect_eq "... and the daemon serves on" "2" "$(printf '%s\n' $out | wc -l)"

# SIGSTOP of the program during migrations: a migration of its folios costs at most the
# timeout, other clients are served meanwhile, and it finishes correctly after SIGCONT.
"$RUN" --socket "$SOCK" --name stopped -- memtester 24M 1 > "$WORK/stopped.out" 2>&1 &
stopped=$!
wait_for running stopped
sleep 0.3
kill -STOP "$stopped"
start=$(date +%s%N)
out=$(ctl --space stopped migrate --all --to slow)
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_contains "a stopped program's folios are busy" "EBUSY" "$out"
[ "$elapsed_ms" -lt 3000 ] && pass "... and its migration returns within the timeout's reach (${elapsed_ms} ms, timeout 300 ms)" \
    || fail "the migration of a stopped program took $elapsed_ms ms"
start=$(date +%s%N)
other=$(ctl --space other alloc --tier fast --count 4)
ctl --space other migrate --to slow $other > "$WORK/other.out"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "another client is served while it is stopped" "4" "$(grep -c ' slow$' "$WORK/other.out")"
kill -CONT "$stopped"
end=$((SECONDS + 20))
while [ "$SECONDS" -lt "$end" ]; do grep -q "^slow" <<<"$(ctl --space stopped migrate --all --to slow 2>/dev/null)" && break; sleep 0.2; done
[ "$SECONDS" -lt "$end" ] && pass "after SIGCONT its folios move again" || fail "the continued program's folios never moved"
wait "$stopped"; status=$?
memtester_ok "$WORK/stopped.out" "$status" "... and memtester finishes with every test ok"

# SIGKILL of the daemon mid-run: the program finishes with correct results, on the memory it
# has mapped (the daemon's last word).
"$RUN" --socket "$SOCK" --name orphan -- memtester 24M 1 > "$WORK/orphan.out" 2>&1 &
orphan=$!
wait_for running orphan
before=$(cat "$MNT/migration/stats/folios_migrated")
( for _ in $(seq 50); do ctl --space orphan migrate --all --to slow; ctl --space orphan migrate --all --to fast; done ) > /dev/null 2>&1 &
mover=$!
sleep 1
moved=$(( $(cat "$MNT/migration/stats/folios_migrated") - before ))
[ "$moved" -gt 0 ] && pass "its folios move ($moved in the second before the kill)" || fail "nothing moved before the daemon's kill"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait "$mover" 2>/dev/null
umount -l "$MNT" 2>/dev/null
wait "$orphan"; status=$?
memtester_ok "$WORK/orphan.out" "$status" "SIGKILL of the daemon: the program finishes with every test ok"
