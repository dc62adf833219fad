# What a restart keeps outside systemd (README, "What survives what"): a named space lives as
# long as its daemon, knob values not in the config do not come back; and a socket handed over
# by a socket activator (systemd-socket-activate, the sd_listen_fds protocol without systemd)
# is served and left to its owner.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
write_config ''
start_daemon
out=$("$FOLIOCTL" --socket "$SOCK" --space db alloc --tier fast --count 2 | tr '\n' ' ')
expect_eq "a named space is filled" "0 1 " "$out"
"$FOLIOCTL" --socket "$SOCK" --space db fill --seed 4 0 1
echo 3 > "$MNT/mtcopy/threads"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
start_daemon
out=$("$FOLIOCTL" --socket "$SOCK" --space db verify --seed 4 0 1 2>&1)
expect_contains "outside systemd a killed daemon's named space is gone (nothing keeps its memfds)" "ENOENT" "$out"
expect_eq "... and a knob set by hand is back at its config value" "4" "$(cat "$MNT/mtcopy/threads")"
stop_daemon TERM

activated=$WORK/activated.sock
systemd-socket-activate --seqpacket -l "$activated" "$FOLIOD" --config "$CONFIG" --socket "$activated" >>"$LOG" 2>&1 &
DAEMON_PID=$!
wait_for test -S "$activated"
out=$("$FOLIOCTL" --socket "$activated" stat 2>&1 | head -n 1)
expect_eq "a socket passed in LISTEN_FDS is served" "migrator: kernel" "$out"
log_has "listening on the socket the service manager passed" && pass "... and the log says so" || fail "... and the log says so"
wait_for is_mounted
stop_daemon TERM
expect_eq "SIGTERM exits 0" "0" "$STATUS"
[ -S "$activated" ] && pass "... and leaves the passed socket to its owner" || fail "... and leaves the passed socket to its owner"
