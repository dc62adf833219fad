# The knob tree of a running daemon, driven as an operator would.
write_config '"mtcopy/threads" = 4'
start_daemon

expect_eq "offload_migrator starts on kernel" "[kernel] mtcopy dcbm" "$(cat "$MNT/migration/offload_migrator")"
expect_eq "dcbm/engine names the software engine" "software" "$(cat "$MNT/dcbm/engine")"

err=$(echo garbage 2>&1 > "$MNT/dcbm/offloading")
expect_contains "echo garbage > dcbm/offloading: Invalid argument" "write error: Invalid argument" "$err"
expect_eq "... and nothing changed" "0" "$(cat "$MNT/dcbm/offloading")"

echo 1 > "$MNT/dcbm/offloading"
expect_eq "echo 1 > dcbm/offloading starts dcbm" "kernel mtcopy [dcbm]" "$(cat "$MNT/migration/offload_migrator")"

err=$( { echo 1 > "$MNT/mtcopy/offloading"; } 2>&1)
expect_contains "echo 1 > mtcopy/offloading while dcbm is active: busy" "write error: Device or resource busy" "$err"
expect_eq "... and dcbm stays" "kernel mtcopy [dcbm]" "$(cat "$MNT/migration/offload_migrator")"

echo 0 > "$MNT/mtcopy/offloading"
expect_eq "echo 0 > mtcopy/offloading while dcbm is active is a no-op" "1" "$(cat "$MNT/dcbm/offloading")"

printf '%s' mtcopy > "$MNT/migration/offload_migrator"
expect_eq "printf '%s' mtcopy > offload_migrator switches in one step" "kernel [mtcopy] dcbm" "$(cat "$MNT/migration/offload_migrator")"

out=$(echo 8 | tee "$MNT/mtcopy/threads")
expect_eq "tee writes mtcopy/threads" "8 8" "$out $(cat "$MNT/mtcopy/threads")"

dash -c "echo 0 > '$MNT/mtcopy/offloading'"
expect_eq "dash -c 'echo 0 > mtcopy/offloading' stops mtcopy" "[kernel] mtcopy dcbm" "$(cat "$MNT/migration/offload_migrator")"

err=$( { echo 17 > "$MNT/dcbm/nr_dma_chan"; } 2>&1)
expect_contains "echo 17 > dcbm/nr_dma_chan fails" "Invalid argument" "$err"
echo 0x10 > "$MNT/dcbm/nr_dma_chan"
expect_eq "nr_dma_chan takes base 0" "16" "$(cat "$MNT/dcbm/nr_dma_chan")"

err=$( { printf '1\n\n' > "$MNT/dcbm/offloading"; } 2>&1)
expect_contains "printf '1\\n\\n' is two writes; the second fails" "Invalid argument" "$err"
expect_eq "... after the first started dcbm" "1" "$(cat "$MNT/dcbm/offloading")"

err=$( { echo 1 > "$MNT/dcbm/engine"; } 2>&1)
expect_contains "root cannot write a 0444 knob" "Permission denied" "$err"

for knob in $(cd "$MNT" && find . -type f | sed 's|^\./||'); do
    before=$(cat "$MNT/$knob")
    err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c "echo 1 > '$MNT/$knob'" 2>&1)
    read_back=$(setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$MNT/$knob")
    case "$err" in
        *"Permission denied"*) [ "$read_back" = "$before" ] && pass "nobody: $knob reads, write denied" || fail "nobody: $knob" "read [$read_back], was [$before]" ;;
        *) fail "nobody: writing $knob" "got [$err]" ;;
    esac
done

expect_eq "stat: a knob is a 4096-byte regular file" "4096 644 regular file" "$(stat -c '%s %a %F' "$MNT/dcbm/offloading")"

# The series' sixth version's layout answers too: /sys/module/dcbm/parameters/, the same knobs.
params=$MNT/module/dcbm/parameters
expect_eq "module/dcbm/parameters lists the v6 knobs" "folios_failures folios_migrated nr_dma_chan offloading reason_mask" "$(ls "$params" | sort | tr '\n' ' ' | sed 's/ $//')"
echo 0 > "$params/offloading"
expect_eq "echo 0 > module/dcbm/parameters/offloading stops dcbm" "[kernel] mtcopy dcbm 0" "$(cat "$MNT/migration/offload_migrator" "$MNT/dcbm/offloading" | tr '\n' ' ' | sed 's/ $//')"
timeout 10 "$FOLIOCTL" watch --mount "$MNT" --count 1 module/dcbm/parameters/offloading > "$WORK/twin-watch.out" &
twin_watcher=$!
sleep 0.3
echo 1 > "$params/offloading"
expect_eq "echo 1 > module/dcbm/parameters/offloading binds dcbm" "kernel mtcopy [dcbm]" "$(cat "$MNT/migration/offload_migrator")"
echo 3 > "$params/nr_dma_chan"
echo demotion > "$MNT/migration/reason_mask"
for knob in offloading nr_dma_chan reason_mask folios_migrated folios_failures; do
    twin=$([ "$knob" = reason_mask ] && echo migration/reason_mask || echo "dcbm/$knob")
    expect_eq "module/dcbm/parameters/$knob matches $twin" "$(cat "$MNT/$twin")" "$(cat "$params/$knob")"
done
err=$( { echo 17 > "$params/nr_dma_chan"; } 2>&1)
expect_contains "... and refuses what its twin refuses" "write error: Invalid argument" "$err"
wait "$twin_watcher"
expect_eq "a poller of module/dcbm/parameters/offloading wakes on the change (watch printed 0, then 1)" "0 1" "$(tr '\n' ' ' < "$WORK/twin-watch.out" | sed 's/ $//')"
