# foliod as a system service: the installed unit, --check-config, journald lines, the knob
# change log, and the operator scripts under dash.
make -s -C "$REPO" install PREFIX="$WORK/prefix" CONFIGURATION=debug >/dev/null 2>&1
expect_eq "make install puts binaries, unit, config and scripts in place" "ok" \
    "$(cd "$WORK/prefix" && [ -x bin/foliod ] && [ -x bin/folioctl ] && [ -x bin/foliobench ] && [ -f lib/systemd/system/foliod.service ] && [ -f etc/foliod/foliod.toml ] && [ -x libexec/foliod/use-migrator ] && echo ok)"
out=$(systemd-analyze verify "$WORK/prefix/lib/systemd/system/foliod.service" 2>&1)
expect_eq "systemd-analyze verify passes on the installed unit" "0 []" "$? [$out]"
expect_contains "the unit is Type=notify with a watchdog" "WatchdogSec=" "$(grep -E '^(Type|WatchdogSec)=' "$WORK/prefix/lib/systemd/system/foliod.service" | tr '\n' ' ')"
grep -qE '^(ProtectSystem|PrivateTmp|PrivateDevices|ProtectHome|PrivateMounts)=' "$WORK/prefix/lib/systemd/system/foliod.service" \
    && fail "the unit creates no private mount namespace" || pass "the unit creates no private mount namespace"

write_config '"mtcopy/threads" = 2'
mkdir -p "$MNT"  # --check-config checks the mount point as start-up would
out=$("$FOLIOD" --check-config "$CONFIG" 2>&1)
expect_eq "--check-config of a good file exits 0" "0" "$?"
expect_contains "... and says so" "ok (2 tiers, 1 knob lines)" "$out"
write_config '"mtcopy/threads" = 0'
out=$("$FOLIOD" --check-config "$CONFIG" 2>&1)
expect_eq "--check-config of a bad knob line exits 1" "1" "$?"
expect_eq "... naming the file, the line and the errno" "foliod: $CONFIG:15: [knobs] mtcopy/threads = \"0\": Invalid argument (EINVAL)" "$out"
is_mounted && fail "... and mounts nothing" || pass "... and mounts nothing"
[ -e "$SOCK" ] && fail "... and leaves no socket" || pass "... and leaves no socket"

write_config ''
JOURNAL_STREAM=8:1 start_daemon
echo 3 > "$MNT/mtcopy/threads"
sh -c "echo dcbm > '$MNT/migration/offload_migrator'" & writer=$!; wait $writer
{ echo garbage > "$MNT/dcbm/nr_dma_chan"; } 2>/dev/null
stop_daemon TERM
expect_contains "under journald each line starts with its syslog priority" "<6>serving" "$(cat "$LOG")"
expect_contains "a knob change is logged with old and new value and the writer" "<5>knob changed knob=mtcopy/threads new=3 old=4 pid=" "$(cat "$LOG")"
expect_contains "... with the writer's pid" "pid=$writer uid=0" "$(grep 'offload_migrator' "$LOG")"
expect_contains "a refused write is logged with its errno and input" "knob write refused: EINVAL input=garbage\\n knob=dcbm/nr_dma_chan" "$(cat "$LOG")"

start_daemon
export FOLIOD_MOUNT="$MNT" FOLIOD_SOCKET="$SOCK"
out=$(dash "$REPO/scripts/use-migrator" dcbm 8)
expect_eq "use-migrator dcbm 8 (dash)" "kernel mtcopy [dcbm] 8" "$out $(cat "$MNT/dcbm/nr_dma_chan")"
dash "$REPO/scripts/use-migrator" bogus 2>/dev/null
expect_eq "use-migrator with a bad name exits 2" "2" "$?"
FOLIOCTL="$FOLIOCTL" dash "$REPO/scripts/watch-migrator" 1 > "$WORK/watch.out" & watcher=$!
for _ in $(seq 50); do [ -s "$WORK/watch.out" ] && break; sleep 0.05; done
dash "$REPO/scripts/use-migrator" mtcopy 2 >/dev/null
for _ in $(seq 100); do kill -0 $watcher 2>/dev/null || break; sleep 0.05; done
kill -0 $watcher 2>/dev/null && { fail "watch-migrator wakes on the change and exits after COUNT"; kill $watcher; } || pass "watch-migrator wakes on the change and exits after COUNT"
expect_eq "watch-migrator prints the migrator and counters at start and after the change" \
    "kernel mtcopy [dcbm] mtcopy/folios_migrated=0 dcbm/folios_migrated=0 dcbm/folios_failures=0|kernel [mtcopy] dcbm mtcopy/folios_migrated=0 dcbm/folios_migrated=0 dcbm/folios_failures=0" \
    "$(tr '\n' '|' < "$WORK/watch.out" | sed 's/|$//')"
echo dcbm > "$MNT/migration/offload_migrator"
out=$(FOLIOBENCH="$FOLIOBENCH" TOTAL=4M dash "$REPO/scripts/compare-migrators" kernel mtcopy:2 2>/dev/null)
expect_contains "compare-migrators prints one table for all settings" "2M    2      mtcopy:2" "$out"
expect_contains "... and restores the migrator it found" "migrator restored: kernel mtcopy [dcbm]" "$out"
stop_daemon TERM
