# Helpers for the shell tests: a real foliod per test, in its own directory under /tmp.
# Each test_*.sh is run by ./run in a fresh bash with this file sourced.

: "${FOLIOD:?FOLIOD must name the foliod binary}"
FOLIOD=$(cd "$(dirname "$FOLIOD")" && pwd)/$(basename "$FOLIOD")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Under the run's own directory when ./run started this test (its sweep is scoped to it).
WORK=$(mktemp -d "${FOLIOD_SHELL_ROOT:-/tmp}/foliod-shell.XXXXXX")
chmod 755 "$WORK"
MNT=$WORK/mnt
CONFIG=$WORK/foliod.toml
LOG=$WORK/foliod.log
DAEMON_PID=
passed=0
failed=0

pass() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '        %s\n' "$2"; return 0; }

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}

# expect_contains DESCRIPTION NEEDLE HAYSTACK
expect_contains() {
    case "$3" in
        *"$2"*) pass "$1" ;;
        *) fail "$1" "expected to contain [$2], got [$3]" ;;
    esac
}

SOCK=$WORK/foliod.sock

# write_config KNOB-LINES [FAST-SIZE SLOW-SIZE]: a config with two small tiers (256M each
# unless given) and the given [knobs] lines.
write_config() {
    cat > "$CONFIG" <<TOML
[daemon]
mount = "$MNT"
socket = "$SOCK"
log_level = "info"

[[tiers]]
name = "fast"
size = "${2:-256M}"

[[tiers]]
name = "slow"
size = "${3:-256M}"

[knobs]
$1
TOML
}

is_mounted() { grep -q " $MNT fuse" /proc/mounts; }

# start_daemon [EXTRA ARGS]: starts foliod and waits (at most 5 s) until the tree answers.
start_daemon() {
    mkdir -p "$MNT"
    "$FOLIOD" --config "$CONFIG" "$@" >>"$LOG" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 100); do
        # cat, not test -r: a stale mount still answers access() from the kernel's cache.
        cat "$MNT/migration/offload_migrator" >/dev/null 2>&1 && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "daemon starts" "$(tail -n 5 "$LOG")"
    return 1
}

# stop_daemon SIGNAL: sends SIGNAL, waits (at most 30 s, then SIGKILL and status 124), and
# leaves the exit status in $STATUS.
stop_daemon() {
    kill "-$1" "$DAEMON_PID" 2>/dev/null
    local waited=0
    while kill -0 "$DAEMON_PID" 2>/dev/null && [ "$waited" -lt 600 ]; do sleep 0.05; waited=$((waited + 1)); done
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; STATUS=124
    else
        wait "$DAEMON_PID"; STATUS=$?
    fi
    DAEMON_PID=
}

# expect_config_error DESCRIPTION EXPECTED-MESSAGE: foliod refuses $CONFIG with that message,
# within 10 s (a daemon that wrongly starts is killed and the check fails), and mounts nothing.
expect_config_error() {
    out=$(timeout -k 2 10 "$FOLIOD" --config "$CONFIG" 2>&1); status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        fail "$1" "foliod started instead of refusing the config"
    elif [ "$status" -ne 0 ]; then
        expect_contains "$1" "$2" "$out"
    else
        fail "$1" "exit status 0: $out"
    fi
    is_mounted && { fail "... and mounts nothing"; umount -l "$MNT"; } || pass "... and mounts nothing"
}

cleanup() {
    [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    is_mounted && umount -l "$MNT"
    rm -rf "$WORK"
}
trap cleanup EXIT
# `timeout` ends a test with SIGTERM: exit through the EXIT trap so its daemon goes too.
trap 'exit 143' TERM

# wait_for CONDITION-COMMAND...: polls it for at most 5 s; its status is the condition's.
wait_for() {
    for _ in $(seq 100); do "$@" && return 0; sleep 0.05; done
    return 1
}

# log_has PATTERN: whether the daemon's log has a line matching PATTERN (grep -E).
log_has() { grep -Eq -- "$1" "$LOG"; }

finish() {
    echo "RESULT $passed $failed"
}
