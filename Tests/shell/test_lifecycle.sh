# Start-up, shutdown, stale mounts and config errors of the real daemon.
write_config '"dcbm/offloading" = 1
"dcbm/nr_dma_chan" = 4'
start_daemon
expect_eq "[knobs] lines are stored at start-up" "kernel mtcopy [dcbm] 4" "$(cat "$MNT/migration/offload_migrator") $(cat "$MNT/dcbm/nr_dma_chan")"

# Hold a knob open in another process, then stop the daemon.
bash -c "exec 3< '$MNT/dcbm/offloading'; sleep 30" &
holder=$!
sleep 0.2
start=$(date +%s%N)
stop_daemon TERM
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "SIGTERM with a knob held open exits 0" "0" "$STATUS"
[ "$elapsed_ms" -lt 2000 ] && pass "... within 2 s (${elapsed_ms} ms)" || fail "... within 2 s" "took ${elapsed_ms} ms"
is_mounted && fail "... and unmounts" || pass "... and unmounts"

start_daemon
stop_daemon INT
expect_eq "SIGINT exits 0" "0" "$STATUS"
is_mounted && fail "... and unmounts" || pass "... and unmounts"

start_daemon
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
err=$(ls "$MNT" 2>&1)
expect_contains "a killed daemon leaves a stale mount" "Transport endpoint is not connected" "$err"
start_daemon
expect_eq "a new daemon recovers the stale mount" "kernel mtcopy [dcbm]" "$(cat "$MNT/migration/offload_migrator")"
stop_daemon TERM

write_config '"mtcopy/threads" = 4
"dcbm/offloading" = "garbage"'
expect_config_error "a bad knob value names the file, the line and the errno" "$CONFIG:16: [knobs] dcbm/offloading = \"garbage\": Invalid argument (EINVAL)"

write_config '"dcbm/no_such_knob" = 1'
expect_config_error "an unknown knob is ENOENT" "No such file or directory (ENOENT)"

write_config '"dcbm/engine" = "dsa"'
expect_config_error "a read-only knob is EACCES" "Permission denied (EACCES)"

write_config '"mtcopy/offloading" = 1
"dcbm/offloading" = 1'
expect_config_error "start_offloading of a second migrator is EBUSY" "$CONFIG:16: [knobs] dcbm/offloading = \"1\": Device or resource busy (EBUSY)"

printf '[daemon]\nmount = "%s"\nflavour = "x"\n' "$MNT" > "$CONFIG"
expect_config_error "an unknown key names its line" "$CONFIG:3: [daemon] flavour: unknown key"

printf '[daemon]\nmount = "%s"\n[dcbm]\ntimeout_ms = "soon"\n' "$MNT" > "$CONFIG"
expect_config_error "a wrong type names its line" "$CONFIG:4: [dcbm] timeout_ms: expected an integer"

printf '[daemon]\nmount = "%s"\n\nthis is not toml\n' "$MNT" > "$CONFIG"
expect_config_error "a TOML syntax error names its line" "$CONFIG:4:"

write_config ''
out=$("$FOLIOD" --config "$CONFIG" --mount "$WORK/missing" 2>&1)
expect_contains "a missing mount point is named" "mount point $WORK/missing does not exist" "$out"
mkdir -p "$WORK/full" && touch "$WORK/full/file"
out=$("$FOLIOD" --config "$CONFIG" --mount "$WORK/full" 2>&1)
expect_contains "a non-empty mount point is named" "mount point $WORK/full is not empty" "$out"

# SIGHUP re-applies the [knobs] lines that changed.
write_config '"mtcopy/threads" = 4'
start_daemon
write_config '"mtcopy/threads" = 12'
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do [ "$(cat "$MNT/mtcopy/threads")" = 12 ] && break; sleep 0.05; done
expect_eq "SIGHUP applies a changed knob line" "12" "$(cat "$MNT/mtcopy/threads")"
# A config replaced by a FIFO: the reload must not wait in open() for a writer, and a later
# SIGTERM is still served.
mv "$CONFIG" "$CONFIG.file" && mkfifo "$CONFIG"
kill -HUP "$DAEMON_PID"
wait_for log_has "SIGHUP: .*not a regular file" && pass "SIGHUP with the config a FIFO: refused as not a regular file" || fail "SIGHUP with the config a FIFO: refused as not a regular file" "$(tail -n 3 "$LOG")"
stop_daemon TERM
expect_eq "... and SIGTERM still stops the daemon cleanly" "0" "$STATUS"
rm -f "$CONFIG" && mv "$CONFIG.file" "$CONFIG"
mkfifo "$WORK/fifo.toml"
out=$(timeout -k 2 10 "$FOLIOD" --config "$WORK/fifo.toml" 2>&1)
expect_contains "a FIFO as --config is refused at start" "$WORK/fifo.toml: not a regular file" "$out"

# An attach carries a memfd per tier: 64 tiers are served, a 65th is a config error.
many_tiers() {
    printf '[daemon]\nmount = "%s"\nsocket = "%s"\n' "$MNT" "$SOCK" > "$CONFIG"
    for i in $(seq "$1"); do printf '\n[[tiers]]\nname = "t%d"\nsize = "2M"\n' "$i" >> "$CONFIG"; done
}
many_tiers 65
expect_config_error "65 tiers: refused, naming the 65th tier's line" "$CONFIG:262: [[tiers]]: at most 64 tiers"
many_tiers 64
start_daemon
out=$("$FOLIOCTL" --socket "$SOCK" alloc --tier t64 2>&1)
expect_eq "64 tiers: an attach is served and allocates in the last tier" "0" "$out"
stop_daemon TERM

tier_config() {  # one [[tiers]] table with the given extra lines
    printf '[daemon]\nmount = "%s"\nsocket = "%s"\n\n[[tiers]]\nname = "fast"\n%s\n' "$MNT" "$SOCK" "$1" > "$CONFIG"
}
tier_config 'size = "64M"
node = 63'
expect_config_error "a NUMA node that does not exist is a start-up error naming the tier" "$CONFIG:8: [[tiers]] node: tier 'fast': NUMA node 63 does not exist on this machine"
tier_config 'size = "64M"
node = "near"'
expect_config_error "a node that is neither a number nor auto is refused, naming its line" "$CONFIG:8: [[tiers]] node: expected a node number or \"auto\""
tier_config 'size = "64M"
node = "auto"'
start_daemon
expect_contains "node = \"auto\": the machine's first tier, shown in tiers/<name>/node_choice" "auto: " "$(cat "$MNT/tiers/fast/node_choice")"
log_has "tier fast: node auto: " && pass "... and logged" || fail "... and logged" "$(tail -n 5 "$LOG")"
stop_daemon TERM
tier_config 'size = "3M"'
expect_config_error "a tier size that is not whole 2 MiB is refused" "$CONFIG:7: [[tiers]] size: expected a positive multiple of 2 MiB"
tier_config 'size = "64M"
huge_pages = "gigantic"'
expect_config_error "an unknown huge-page mode is refused" "$CONFIG:8: [[tiers]] huge_pages: expected auto or one of none, thp, hugetlb"
if [ "$(cat /proc/sys/vm/nr_hugepages)" = 0 ]; then
    tier_config 'size = "64M"
huge_pages = "hugetlb"'
    expect_config_error "hugetlb without reserved huge pages is an error, not a downgrade" "hugetlb: no huge pages are reserved"
fi
if grep -q '\[never\]\|\[deny\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled; then
    tier_config 'size = "64M"
huge_pages = "thp"'
    expect_config_error "thp where shmem THP is disabled is an error, not a downgrade" "thp: shmem transparent huge pages are disabled"
fi
# auto takes what the machine has and says so in the knob and the log.
write_config ''
sed -i 's|^size = "256M"|size = "256M"\nhuge_pages = "auto"|' "$CONFIG"
start_daemon
if [ "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -ge 128 ]; then expected=hugetlb
elif ! grep -q '\[never\]\|\[deny\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled; then expected=thp
else expected=none; fi
expect_eq "huge_pages = auto shows its choice in tiers/<name>/huge_pages" "$expected (auto)" "$(cat "$MNT/tiers/fast/huge_pages")"
log_has "tier fast: huge_pages auto chose $expected: " && pass "... and logs why" || fail "... and logs why" "$(grep 'huge_pages auto' "$LOG")"
stop_daemon TERM
# No [[tiers]]: the machine's own (one per memory tier and node distance), said in the log
# and in tiers/<name>/node_choice; Tests/vm/run checks them on three nodes.
printf '[daemon]\nmount = "%s"\nsocket = "%s"\n' "$MNT" "$SOCK" > "$CONFIG"
start_daemon
log_has "tiers from the machine: tier0, [0-9]+ MiB, auto: " && pass "a config without tiers comes up with the machine's, and logs them" \
    || fail "a config without tiers comes up with the machine's" "$(tail -n 5 "$LOG")"
expect_contains "... and tiers/tier0/node_choice says how" "auto: " "$(cat "$MNT/tiers/tier0/node_choice")"
stop_daemon TERM
