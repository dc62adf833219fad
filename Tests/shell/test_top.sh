# `folioctl top` as a person uses it, in a real terminal (tmux, 120 × 40): the screen shows each
# tier and the rates, the migration rate moves while a storm of migrations runs and falls back
# after it, and typing q quits with status 0 and gives the terminal back.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
command -v tmux >/dev/null || { fail "tmux is installed (make test-deps)"; return 0; }
write_config '"migration/offload_migrator" = "mtcopy"'
start_daemon || return 0
ctl() { "$FOLIOCTL" --socket "$SOCK" --space top "$@"; }
# A tmux server of the test's own (its socket under $WORK), so no other session is touched.
tm() { tmux -S "$WORK/tmux.sock" "$@"; }
STORM_PID=
trap '[ -n "$STORM_PID" ] && kill "$STORM_PID" 2>/dev/null; tm kill-server 2>/dev/null; cleanup' EXIT

handles=$(ctl alloc --tier fast --order 0 --count 512)
tm new-session -d -s top -x 120 -y 40 "bash --norc"
tm set-option -t top remain-on-exit on
tm send-keys -t top "$FOLIOCTL --socket $SOCK top; echo \"top exited \$?\"" Enter
screen() { tm capture-pane -p -t top; }
# The `all` row's folios/s, once the screen shows one.
rate() { screen | awk '$1 == "all" { print $2; exit }'; }
wait_for_screen() {  # CONDITION-ON-$RATE SECONDS
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do RATE=$(rate); eval "$1" && return 0; sleep 0.2; done
    return 1
}
wait_for_screen '[ "$RATE" = "0.0" ]' 10 && pass "top shows a rate of 0.0 folios/s while nothing moves" || fail "the idle rate is [$RATE]" "$(screen)"
out=$(screen)
expect_contains "... a bar for each tier" "  fast   [" "$out"
expect_contains "... slow too" "  slow   [" "$out"
expect_contains "... the active migrator" "mtcopy (active)" "$out"
expect_contains "... and the reasons" "    syscall" "$out"

( end=$((SECONDS + 8)); while [ "$SECONDS" -lt "$end" ]; do ctl migrate --to slow $handles >/dev/null; ctl migrate --to fast $handles >/dev/null; done ) &
STORM_PID=$!
wait_for_screen 'awk -v r="${RATE:-0}" "BEGIN { exit !(r > 100) }"' 10 && pass "during a storm of migrations the rate moves ($RATE folios/s)" \
    || fail "the rate stayed [$RATE]" "$(screen)"
out=$(screen)
mtcopy=$(printf '%s\n' "$out" | awk '$1 == "mtcopy" { print $3; exit }')
awk -v r="${mtcopy:-0}" 'BEGIN { exit !(r > 0) }' && pass "... mtcopy's own rate with it ($mtcopy folios/s)" || fail "mtcopy's rate is [$mtcopy]" "$out"
printf '%s\n' "$out" > "$WORK/storm-screen.txt"
p50=$(printf '%s\n' "$out" | awk '$1 == "batch" { print $2, $3; exit }')
case "$p50" in *s) pass "... and the batch latency's p50 ($p50)" ;; *) fail "no batch p50: [$p50]" "$out" ;; esac
wait "$STORM_PID"; STORM_PID=
wait_for_screen '[ "$RATE" = "0.0" ]' 10 && pass "after the storm the rate falls back to 0.0" || fail "the rate after the storm is [$RATE]"
# The kernel row is kernel's own count (the stats reply's kernel.folios_migrated), not what
# the offload migrators left of the total: a move to a shadow copies nothing.
kernel=$("$FOLIOCTL" --socket "$SOCK" stat | awk -F': ' '$1 == "kernel.folios_migrated" { print $2 }')
kernel_row() { screen | awk '$1 == "kernel" { print $NF; exit }'; }
wait_for_screen '[ -n "$kernel" ] && [ "$(kernel_row)" = "$kernel" ]' 5 && pass "... and the kernel row's total is kernel.folios_migrated ($kernel)" \
    || fail "the kernel row's total is [$(kernel_row)], kernel.folios_migrated $kernel"

tm send-keys -t top q
wait_for_screen 'screen | grep -q "^top exited 0"' 5 && pass "q quits top with status 0" || fail "after q" "$(screen)"
# The main screen is back, with what was typed before top, and the terminal echoes again.
tm send-keys -t top "echo echoed-back" Enter
wait_for_screen 'screen | grep -q "^echoed-back"' 5 && pass "... and the terminal is given back (echo on, main screen)" || fail "the terminal after top" "$(screen)"
expect_contains "... where the command that ran top still shows" "top; echo" "$(screen)"
tm kill-server

# Intervals the refresh can wait: 0.1 s to an hour; past that, a clear error, never a trap.
out=$("$FOLIOCTL" --socket "$SOCK" top --interval 7200 2>&1); status=$?
expect_eq "top --interval 7200 is refused (exit 64)" "64" "$status"
expect_contains "... saying the range" "--interval must be from 0.1 to 3600" "$out"
