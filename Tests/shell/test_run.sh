# foliod-run (issue 22): unmodified programs on foliod memory through libfolio-run.so. run_probe
# checks what a program expects of its memory and malloc; gups, memtester and stress-ng check
# every byte survives, migrations of the program's folios included; the space is freed when the
# program ends, even by SIGKILL; with no daemon the program runs anyway, with one note; and the
# launcher's usage errors.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
CBUILD=$REPO/.build-c
RUN=$CBUILD/foliod-run
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g "$REPO/Tests/libfolio/run_probe.c" -o "$WORK/run_probe" -lpthread \
    2>"$WORK/cc.log" || fail "run_probe builds" "$(head -n 5 "$WORK/cc.log")"

write_config ''
start_daemon

free_fast() { "$FOLIOCTL" --socket "$SOCK" stat | sed -n 's/^tier\.fast\.free_bytes: //p'; }
all_free() { [ "$(free_fast)" = 268435456 ]; }
some_used() { [ "$(free_fast)" -lt 268435456 ]; }

out=$("$RUN" --socket "$SOCK" -- "$WORK/run_probe" 2>"$WORK/probe.err"); status=$?
expect_eq "run_probe under foliod-run: every check ok" "0 $(printf '%s\n' "$out" | grep -c '^ok ')" \
    "$status $(printf '%s\n' "$out" | grep -c '^ok ')"
printf '%s\n' "$out" | grep '^FAIL' | head -n 5
expect_eq "... with nothing on stderr (no fallback)" "" "$(cat "$WORK/probe.err")"
wait_for all_free && pass "... and its space is freed when it exits" || fail "... and its space is freed when it exits" "$(free_fast)"

# Memory used while it runs, freed after it exits, and after SIGKILL.
"$RUN" --socket "$SOCK" -- "$CBUILD/gups" --bytes 64M --seconds 30 > "$WORK/gups.out" 2>&1 &
gups=$!
wait_for some_used && pass "a running program's table is in the fast tier" || fail "a running program's table is in the fast tier"
"$FOLIOCTL" --socket "$SOCK" ps | grep -q "run/$gups" && pass "folioctl ps lists it as run/$gups" || fail "folioctl ps lists it"
before=$("$FOLIOCTL" --socket "$SOCK" stat | sed -n 's/^folios_migrated: //p')
for _ in 1 2 3; do
    for tier in slow fast; do "$FOLIOCTL" --socket "$SOCK" --space "run/$gups" migrate --all --to "$tier" > /dev/null 2>&1; done
done
after=$("$FOLIOCTL" --socket "$SOCK" stat | sed -n 's/^folios_migrated: //p')
[ "$after" -gt "$before" ] && pass "its folios migrate while it runs ($((after - before)) moves)" || fail "its folios migrate while it runs" "$before -> $after"
kill -KILL "$gups"; wait "$gups" 2>/dev/null
wait_for all_free && pass "SIGKILL of the program frees its space" || fail "SIGKILL of the program frees its space" "$(free_fast)"

# gups with migrations all through: the self-inverse XOR check finds every byte.
"$RUN" --socket "$SOCK" -- "$CBUILD/gups" --bytes 96M --seconds 6 > "$WORK/gups.out" 2>&1 &
gups=$!
wait_for some_used
moves=0
while kill -0 "$gups" 2>/dev/null; do
    for tier in slow fast; do "$FOLIOCTL" --socket "$SOCK" --space "run/$gups" migrate --all --to "$tier" > /dev/null 2>&1 && moves=$((moves + 1)); done
done
wait "$gups"; status=$?
expect_eq "gups verifies its table after $moves migrations of it" "0" "$status"
grep -E 'total|verify' "$WORK/gups.out" | sed 's/^/        /'

(ulimit -l unlimited 2>/dev/null; "$RUN" --socket "$SOCK" -- memtester 64M 1 > "$WORK/memtester.out" 2>&1); status=$?
expect_eq "memtester 64M 1 under foliod-run: exit 0, no FAILURE" "0 0" "$status $(grep -ac FAILURE "$WORK/memtester.out")"
tests=$(grep -ac '^  [A-Z]' "$WORK/memtester.out")
oks=$(grep -a '^  [A-Z]' "$WORK/memtester.out" | grep -ac 'ok$')
[ "$tests" -ge 15 ] && [ "$oks" = "$tests" ] && ! grep -aq FAILURE "$WORK/memtester.out" && pass "... every test ok ($oks of $tests)" ||
    fail "... every test ok" "$oks of $tests: $(tail -c 300 "$WORK/memtester.out")"

"$RUN" --socket "$SOCK" -- stress-ng --vm 2 --vm-bytes 96M --vm-method all --verify -t 20 > "$WORK/stress.out" 2>&1 &
stress=$!
moves=0
while kill -0 "$stress" 2>/dev/null; do
    for space in $("$FOLIOCTL" --socket "$SOCK" ps 2>/dev/null | awk 'NR > 1 { print $2 }'); do
        "$FOLIOCTL" --socket "$SOCK" --space "$space" migrate --all --to slow > /dev/null 2>&1 && moves=$((moves + 1))
        "$FOLIOCTL" --socket "$SOCK" --space "$space" migrate --all --to fast > /dev/null 2>&1 && moves=$((moves + 1))
    done
    sleep 0.2
done
wait "$stress"; status=$?
expect_eq "stress-ng --vm 2 --vm-method all --verify under foliod-run, $moves migrations meanwhile: exit 0" "0" "$status"
grep -qi 'fail' "$WORK/stress.out" && fail "... no verification failure" "$(grep -i fail "$WORK/stress.out" | head -n 3)" || pass "... no verification failure"
wait_for all_free && pass "... and every space is freed" || fail "... and every space is freed" "$(free_fast)"

# The daemon dies while the program's folios migrate: the program runs on and loses nothing.
"$RUN" --socket "$SOCK" -- "$CBUILD/gups" --bytes 64M --seconds 4 > "$WORK/gups.out" 2>&1 &
gups=$!
wait_for some_used
"$FOLIOCTL" --socket "$SOCK" --space "run/$gups" migrate --all --to slow > /dev/null 2>&1 &
sleep 0.05
stop_daemon KILL
wait "$gups"; status=$?
expect_eq "the daemon killed mid-migration: the program runs on and verifies its table" "0" "$status"
grep -q 'verify ok' "$WORK/gups.out" || printf '        %s\n' "$(tail -n 2 "$WORK/gups.out")"
is_mounted && umount -l "$MNT"

# No daemon: the program runs on ordinary memory, said once.
out=$("$RUN" --socket "$WORK/absent.sock" -- "$WORK/run_probe" 2>"$WORK/absent.err"); status=$?
expect_eq "run_probe with no daemon: every check ok" "0" "$status"
expect_eq "... with exactly one note on stderr" "1" "$(wc -l < "$WORK/absent.err")"
expect_contains "... saying so" "running on ordinary memory" "$(cat "$WORK/absent.err")"

# Usage errors: 64 (EX_USAGE) with a message; a program not found: 127, as shells do.
usage() {  # usage DESCRIPTION EXPECTED-STATUS ARGS...
    local what=$1 want=$2; shift 2
    "$RUN" "$@" > /dev/null 2>"$WORK/usage.err"; local status=$?
    expect_eq "foliod-run $what: exit $want, with a message" "$want yes" "$status $([ -s "$WORK/usage.err" ] && echo yes)"
}
usage "--min-bytes abc" 64 --min-bytes abc -- true
usage "--min-bytes 99999999999999999999 (overflow)" 64 --min-bytes 99999999999999999999 -- true
usage "--min-bytes 99999999999G (overflow)" 64 --min-bytes 99999999999G -- true
usage "--min-bytes 0" 64 --min-bytes 0 -- true
usage "--scan-mb -1" 64 --scan-mb -1 -- true
usage "--scan-period-ms 0" 64 --scan-period-ms 0 -- true
usage "--name with a control character" 64 --name "$(printf 'a\tb')" -- true
usage "--bogus" 64 --bogus -- true
usage "with no program" 64 --socket "$SOCK" --
usage "with a program that does not exist" 127 -- "$WORK/no-such-program"
"$RUN" --min-bytes 4M --scan-mb 0 --socket "$WORK/absent.sock" -- true 2>/dev/null
expect_eq "foliod-run --min-bytes 4M -- true: the program's status" "0" "$?"
