# Unmodified programs from Debian's packages under foliod-run while their folios move: memtester
# and stress-ng --verify must give exactly the results they give without it, with a loop of
# `folioctl migrate --all` between the tiers switching migrators meanwhile, and the tiering
# policy on with a fast tier smaller than their memory. The count of folios moved is printed.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
CBUILD=$REPO/.build-c
RUN=$CBUILD/foliod-run
write_config '"tiering/enabled" = 1
"tiering/aggregation_interval_ms" = 200
"tiering/scan_period_ms" = 200' 48M 512M
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" "$@"; }
moved() { cat "$MNT/migration/stats/folios_migrated"; }

# mover: until $WORK/stop exists, moves every program's folios to slow, then to fast, through
# kernel, mtcopy and dcbm in turn; counts the requests that moved anything in $WORK/moves.
mover() {
    local round=0 migrators=(kernel mtcopy dcbm) names name to out
    : > "$WORK/moves"
    while [ ! -e "$WORK/stop" ]; do
        echo "${migrators[$((round % 3))]}" > "$MNT/migration/offload_migrator"
        to=$([ $((round % 2)) -eq 0 ] && echo slow || echo fast)
        names=$(ctl ps 2>/dev/null | awk 'NR > 1 { print $2 }')
        for name in $names; do
            out=$(ctl --space "$name" migrate --all --to "$to" 2>/dev/null)
            grep -q "^$to " <<<"$out" && echo "$name $to" >> "$WORK/moves"
        done
        round=$((round + 1))
        sleep 0.2
    done
    echo kernel > "$MNT/migration/offload_migrator"
}

# memtester 64M 1: every test ok, with its folios moving all along.
rm -f "$WORK/stop"
before=$(moved)
mover & mover_pid=$!
"$RUN" --socket "$SOCK" --name memtester -- memtester 64M 1 > "$WORK/memtester.out" 2>&1
status=$?
touch "$WORK/stop"; wait "$mover_pid"
tests=$(tr '\r' '\n' < "$WORK/memtester.out" | grep -cE ': .* ok$|^  [A-Za-z].*ok$')
expect_eq "memtester 64M 1 under foliod-run exits 0" "0" "$status"
grep -q FAILURE "$WORK/memtester.out" && fail "memtester reports a failure" "$(grep -m 3 FAILURE "$WORK/memtester.out")" \
    || pass "... and reports no failure ($tests tests ok)"
[ "$tests" -ge 15 ] && pass "... every one of its tests ran" || fail "memtester ran $tests tests" "$(tail -c 600 "$WORK/memtester.out")"
n=$(( $(moved) - before ))
[ "$n" -gt 0 ] && [ -s "$WORK/moves" ] && pass "... while $n folios moved ($(wc -l < "$WORK/moves") requests moved some)" \
    || fail "nothing moved under memtester ($n folios)"
grep -q "foliod-run" "$WORK/memtester.out" && fail "memtester ran on ordinary memory" "$(grep foliod-run "$WORK/memtester.out")" \
    || pass "... in foliod's tiers (no fallback note)"
wait_for test "$(ctl ps | wc -l)" -eq 1 && pass "the program's space is gone once it exits" || fail "folioctl ps after exit" "$(ctl ps)"

# stress-ng --vm with every method and --verify: no verification failure.
rm -f "$WORK/stop"
before=$(moved)
mover & mover_pid=$!
"$RUN" --socket "$SOCK" -- stress-ng --vm 2 --vm-bytes 96M --vm-method all --verify -t 20 --metrics-brief > "$WORK/stress.out" 2>&1
status=$?
touch "$WORK/stop"; wait "$mover_pid"
expect_eq "stress-ng --vm 2 --vm-bytes 96M --vm-method all --verify -t 20 under foliod-run exits 0" "0" "$status"
grep -qiE "fail|verif.*error" "$WORK/stress.out" && fail "stress-ng reports a failure" "$(grep -m 3 -iE "fail|error" "$WORK/stress.out")" \
    || pass "... and reports no verification failure"
grep -q "foliod-run" "$WORK/stress.out" && fail "stress-ng ran on ordinary memory" "$(grep -m 1 foliod-run "$WORK/stress.out")" \
    || pass "... in foliod's tiers (no fallback note)"
grep -q "successful run completed" "$WORK/stress.out" && pass "... 'successful run completed'" || fail "stress-ng's summary" "$(tail -n 5 "$WORK/stress.out")"
n=$(( $(moved) - before ))
[ "$n" -gt 0 ] && pass "... while $n folios moved ($(wc -l < "$WORK/moves") requests moved some)" || fail "nothing moved under stress-ng"
wait_for test "$(ctl ps | wc -l)" -eq 1 && pass "every stress-ng process's space is gone once they exit" || fail "folioctl ps after stress-ng" "$(ctl ps)"
expect_eq "the tiers are whole again" "$((48 << 20)) $((512 << 20))" "$(cat "$MNT/tiers/fast/free_bytes") $(cat "$MNT/tiers/slow/free_bytes")"

# I/O into and out of a program's folios while they move and the scan arms them: the kernel's
# own copies meet pages the runtime protected, and every read(2), pread(2), readv(2), fread(3),
# write(2) and fwrite(3) must still be whole (before the library pinned such buffers, the
# first read failed with EFAULT).
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$REPO/Tests/libfolio/run_io.c" -o "$WORK/run_io" || fail "run_io builds"
head -c 32M /dev/urandom > "$WORK/data"
"$RUN" --socket "$SOCK" --name io --scan-period-ms 20 -- "$WORK/run_io" "$WORK/data" 6 > "$WORK/io.out" 2>&1 &
io=$!
wait_for test "$(ctl ps | awk '$2 == "io"' | wc -l)" -eq 1 || fail "run_io in folioctl ps" "$(cat "$WORK/io.out")"
before=$(moved)
while kill -0 "$io" 2>/dev/null; do ctl --space io migrate --all --to slow >/dev/null 2>&1; ctl --space io migrate --all --to fast >/dev/null 2>&1; done
wait "$io"; status=$?
n=$(( $(moved) - before ))
[ "$status" -eq 0 ] && grep -q "every call whole" "$WORK/io.out" && pass "I/O on moving, scanned folios is whole ($(cut -d: -f2 "$WORK/io.out" | head -n 1 | sed 's/^ //'); $n folios moved)" \
    || fail "run_io under foliod-run (status $status)" "$(cat "$WORK/io.out")"
