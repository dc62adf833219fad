# Helpers for the shell tests: a real foliod per test, in its own directory under /tmp.
# Each test_*.sh is run by ./run in a fresh bash with this file sourced.

: "${FOLIOD:?FOLIOD must name the foliod binary}"
FOLIOD=$(cd "$(dirname "$FOLIOD")" && pwd)/$(basename "$FOLIOD")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/foliod-shell.XXXXXX)
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

# write_config KNOB-LINES: a config with two small tiers and the given [knobs] lines.
write_config() {
    cat > "$CONFIG" <<TOML
[daemon]
mount = "$MNT"
socket = "$SOCK"
log_level = "info"

[[tiers]]
name = "fast"
size = "256M"

[[tiers]]
name = "slow"
size = "256M"

[knobs]
$1
TOML
}

is_mounted() { grep -q " $MNT fuse" /proc/mounts; }

# start_daemon [EXTRA ARGS]: starts foliod and waits until the tree answers.
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

# stop_daemon SIGNAL: sends SIGNAL, waits, and leaves the exit status in $STATUS.
stop_daemon() {
    kill "-$1" "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID"
    STATUS=$?
    DAEMON_PID=
}

cleanup() {
    [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    is_mounted && umount -l "$MNT"
    rm -rf "$WORK"
}
trap cleanup EXIT

finish() {
    echo "RESULT $passed $failed"
}
