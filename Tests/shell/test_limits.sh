# The daemon under a real thread limit (a pids cgroup, as systemd's TasksMax sets one): a knob
# that needs threads the system refuses fails with EAGAIN and changes nothing, and the daemon
# goes on serving. Root is exempt from RLIMIT_NPROC, so only a cgroup limits it.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
ctl() { "$FOLIOCTL" --socket "$SOCK" "$@"; }
PIDS=/sys/fs/cgroup/pids
[ -w "$PIDS/cgroup.procs" ] || { fail "a pids cgroup hierarchy at $PIDS (cgroup v1)"; return 0; }
GROUP=$PIDS/foliod-shell-$$
# The daemon goes back to the root group before the group is removed (rmdir needs it empty).
limits_cleanup() {
    [ -n "$DAEMON_PID" ] && echo "$DAEMON_PID" > "$PIDS/cgroup.procs" 2>/dev/null
    rmdir "$GROUP" 2>/dev/null
    cleanup
}
trap limits_cleanup EXIT

write_config '"mtcopy/threads" = 2'
start_daemon
echo 1 > "$MNT/mtcopy/offloading"
ctl --space limited alloc --tier fast --order 4 --count 8 > /dev/null
ctl --space limited fill --seed 3 0 1 2 3 4 5 6 7

mkdir "$GROUP" && echo "$DAEMON_PID" > "$GROUP/cgroup.procs" || { fail "the daemon joins a pids cgroup"; return 0; }
# Room for what the daemon runs now and three more: a session thread and a FUSE worker or two,
# but not 62 more copy workers nor 16 DMA channels.
echo $(( $(cat "$GROUP/pids.current") + 3 )) > "$GROUP/pids.max"

out=$(bash -c "echo 64 > '$MNT/mtcopy/threads'" 2>&1)
expect_contains "echo 64 > mtcopy/threads under a thread limit: EAGAIN" "Resource temporarily unavailable" "$out"
expect_eq "... and mtcopy/threads is unchanged" "2" "$(cat "$MNT/mtcopy/threads")"
echo 16 > "$MNT/dcbm/nr_dma_chan"
out=$(bash -c "echo dcbm > '$MNT/migration/offload_migrator'" 2>&1)
expect_contains "echo dcbm > migration/offload_migrator with 16 channels: EAGAIN" "Resource temporarily unavailable" "$out"
expect_eq "... and mtcopy stays active" "kernel [mtcopy] dcbm" "$(cat "$MNT/migration/offload_migrator")"
echo 0 > "$MNT/mtcopy/offloading"
out=$(bash -c "echo 1 > '$MNT/dcbm/offloading'" 2>&1)
expect_contains "from kernel, echo 1 > dcbm/offloading: EAGAIN" "Resource temporarily unavailable" "$out"
expect_eq "... and kernel stays active" "[kernel] mtcopy dcbm" "$(cat "$MNT/migration/offload_migrator")"
out=$(bash -c "echo 1 > '$MNT/mtcopy/offloading'" 2>&1)
expect_eq "... while mtcopy's two workers start again" "" "$out"
kill -0 "$DAEMON_PID" 2>/dev/null && pass "the daemon is alive" || fail "the daemon is alive" "$(tail -n 5 "$LOG")"
expect_eq "... and migrates through mtcopy" "0 slow 1 slow 2 slow 3 slow " "$(ctl --space limited migrate --to slow 0 1 2 3 | tr '\n' ' ')"
ctl --space limited verify --seed 3 0 1 2 3 4 5 6 7 && pass "... every byte intact" || fail "... every byte intact"

# Enough room again: the same writes succeed.
echo max > "$GROUP/pids.max"
echo 8 > "$MNT/mtcopy/threads" && pass "with the limit lifted, echo 8 > mtcopy/threads" || fail "with the limit lifted, echo 8 > mtcopy/threads"
echo dcbm > "$MNT/migration/offload_migrator" && pass "... and echo dcbm > migration/offload_migrator" || fail "... and echo dcbm > migration/offload_migrator"
expect_eq "... which migrates" "0 fast 1 fast " "$(ctl --space limited migrate --to fast 0 1 | tr '\n' ' ')"
ctl --space limited verify --seed 3 0 1 2 3 4 5 6 7 && pass "... every byte intact" || fail "... every byte intact"
