# What an adversary or a careless operator tries: each defect found that way, checked as a
# shell user meets it.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}" "${FOLIOBENCH:?FOLIOBENCH must name the foliobench binary}"
ctl() { "$FOLIOCTL" --socket "$SOCK" "$@"; }

write_config '"mtcopy/threads" = 4'
printf '\n[limits]\nnamed_spaces_per_uid = 3\n' >> "$CONFIG"
start_daemon

# A client killed while it holds pins leaves none behind: pins are counted per attachment, and
# a closed attachment's count is dropped.
ctl --space pinned alloc --tier fast --order 9 --count 2 >/dev/null
ctl --space pinned fill --seed 5 0 1
coproc HOLD { exec "$FOLIOCTL" --socket "$SOCK" --space pinned hold --seconds 60 0 1; }
holder=$HOLD_PID
read -r -t 10 line <&"${HOLD[0]}"
expect_eq "folioctl hold pins two folios of a named space" "pinned" "$line"
expect_eq "... which then do not move" "0 EBUSY" "$(ctl --space pinned migrate --to slow 0)"
kill -9 "$holder"; wait "$holder" 2>/dev/null
moved=
for _ in $(seq 50); do
    moved=$(ctl --space pinned migrate --to slow 0 1 | tr '\n' ' ')
    [ "$moved" = "0 slow 1 slow " ] && break
    sleep 0.1
done
expect_eq "after the holder is SIGKILLed, both folios migrate" "0 slow 1 slow " "$moved"
ctl --space pinned verify --seed 5 0 1 && pass "... with every byte intact" || fail "... with every byte intact"

# Reading the counters attaches nothing; named spaces per uid are limited (3 here).
for name in look1 look2 look3 look4; do ctl --space "$name" stat >/dev/null; done
ctl --space second alloc --tier fast >/dev/null && ctl --space third alloc --tier fast >/dev/null
expect_eq "stat creates no space: two more named spaces fit beside 'pinned'" "ok" "ok"
out=$(ctl --space fourth alloc --tier fast 2>&1)
expect_contains "a named space past named_spaces_per_uid is EDQUOT" "EDQUOT" "$out"
ctl --space third destroy
expect_eq "... and fits again once one is destroyed" "0" "$(ctl --space fourth alloc --tier fast 2>&1)"

# A poller of one migrator's offloading knob wakes only when that knob's value changes.
timeout 10 "$FOLIOCTL" watch --mount "$MNT" --count 1 mtcopy/offloading > "$WORK/watch.out" &
watcher=$!
wait_for test -s "$WORK/watch.out"
echo 1 > "$MNT/dcbm/offloading"; echo 0 > "$MNT/dcbm/offloading"
sleep 0.3
expect_eq "switching dcbm in and out does not wake a poller of mtcopy/offloading" "0" "$(tr '\n' ' ' < "$WORK/watch.out" | sed 's/ $//')"
echo 1 > "$MNT/mtcopy/offloading"
wait "$watcher"
expect_eq "... switching mtcopy in does" "0 1" "$(tr '\n' ' ' < "$WORK/watch.out" | sed 's/ $//')"
echo kernel > "$MNT/migration/offload_migrator"

# A refused knob write logs what was written, not the current value twice.
echo garbage > "$MNT/dcbm/offloading" 2>/dev/null
wait_for log_has 'knob write refused: EINVAL.*input=garbage\\n'
expect_eq "a refused knob write logs the rejected input" "0" "$?"

# SIGHUP: a misspelt knob changes nothing; a refused value stops the reload there, and the
# log says exactly what was applied before it.
write_config '"mtcopy/threads" = 9
"dcbm/no_such_knob" = 1'
kill -HUP "$DAEMON_PID"
wait_for log_has 'SIGHUP: \[knobs\] line 16 refused: dcbm/no_such_knob'
expect_eq "SIGHUP with an unknown knob applies nothing" "4" "$(cat "$MNT/mtcopy/threads")"
log_has 'line 16 refused.*nothing was applied' && pass "... and says so" || fail "... and says so" "$(tail -n 2 "$LOG")"
write_config '"mtcopy/threads" = 7
"dcbm/nr_dma_chan" = 99'
kill -HUP "$DAEMON_PID"
wait_for log_has 'line 16 refused: dcbm/nr_dma_chan = "99"'
expect_eq "SIGHUP stops at a refused value" "7 1" "$(cat "$MNT/mtcopy/threads") $(cat "$MNT/dcbm/nr_dma_chan")"
log_has 'Invalid argument \(EINVAL\); applied before it: mtcopy/threads=7' && pass "... and logs what it applied before it" || fail "... and logs what it applied before it" "$(tail -n 2 "$LOG")"

write_config '"mtcopy/threads" = 4'

# Every file operation a shell user can try answers as it does on a real sysfs attribute.
sysdir=/sys/kernel/mm/transparent_hugepage
# The part of a message after its last ": ", and the exit status.
answer() { D=$1 F=$2 bash -c "$3" 2>&1 | sed -E 's/.*: //'; echo "rc=${PIPESTATUS[0]}"; }
if [ -w "$sysdir/enabled" ]; then
    for op in 'touch "$F"' 'chmod 644 "$F"' 'chown root:root "$F"' 'truncate -s 0 "$F"' 'touch "$D"' 'chmod 755 "$D"' \
              'ln -s x "$D/link"' 'ln "$F" "$D/hard"' 'mkfifo "$D/fifo"' 'mknod "$D/node" c 1 3' 'touch "$D/new"' \
              'rm -f "$F"' 'mkdir "$D/sub"' 'rmdir "$D"' 'mv "$F" "$D/moved"' 'ln -s x "$F"'; do
        expect_eq "$op answers as on sysfs" "$(answer "$sysdir" "$sysdir/enabled" "$op" | tr '\n' ' ')" "$(answer "$MNT/mtcopy" "$MNT/mtcopy/threads" "$op" | tr '\n' ' ')"
    done
else
    fail "a writable sysfs attribute to compare with" "$sysdir/enabled is not writable here"
fi
chmod 444 "$MNT/mtcopy/threads"
err=$( { echo 3 > "$MNT/mtcopy/threads"; } 2>&1)
expect_eq "chmod 444 makes a knob read-only, for root too" "444 Permission denied" "$(stat -c %a "$MNT/mtcopy/threads") $(printf '%s' "$err" | sed -E 's/.*: //')"
chmod 644 "$MNT/mtcopy/threads"; echo 3 > "$MNT/mtcopy/threads"
expect_eq "... and chmod 644 gives the write back" "3" "$(cat "$MNT/mtcopy/threads")"
chown nobody "$MNT/mtcopy/threads"
setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "echo 5 > '$MNT/mtcopy/threads'"
expect_eq "chown nobody lets nobody write the knob, as on sysfs" "nobody 5" "$(stat -c %U "$MNT/mtcopy/threads") $(cat "$MNT/mtcopy/threads")"
chown root "$MNT/mtcopy/threads"
touch -d @1000000000 "$MNT/mtcopy/threads"
expect_eq "touch -d sets the modification time" "1000000000" "$(stat -c %Y "$MNT/mtcopy/threads")"

# Errors name what is wrong.
out=$(timeout 10 "$FOLIOD" --config "$CONFIG" --socket "$WORK/other.sock" 2>&1)
expect_contains "a second daemon on a live mount is told the mount is in use" "mount point $MNT is in use" "$out"
out=$(timeout 10 "$FOLIOD" --config "$CONFIG" 2>&1)
expect_contains "a second daemon on a live socket is told a daemon answers there" "$SOCK: a daemon already answers there" "$out"
out=$(timeout 10 "$FOLIOD" --check-config "$CONFIG" 2>&1)
expect_contains "--check-config finds the live socket too" "a daemon already answers there" "$out"
stop_daemon TERM

mkdir -p "$WORK/empty"
check() { timeout 10 "$FOLIOD" --check-config "$CONFIG" --mount "$WORK/empty" --socket "$1" 2>&1; }
echo data > "$WORK/file.sock"
expect_contains "a regular file at the socket path is refused" "$WORK/file.sock is a file that is not a socket; not replacing it: File exists" "$(check "$WORK/file.sock")"
out=$(timeout 10 "$FOLIOD" --config "$CONFIG" --mount "$WORK/empty" --socket "$WORK/file.sock" 2>&1)
expect_eq "... by the daemon too, which leaves the file as it was" "data" "$(cat "$WORK/file.sock")"
mkdir "$WORK/dir.sock"
expect_contains "a directory at the socket path is named" "$WORK/dir.sock is a directory" "$(check "$WORK/dir.sock")"
expect_contains "a missing socket directory is named" "directory $WORK/nodir: No such file or directory" "$(check "$WORK/nodir/foliod.sock")"
long=$WORK/$(printf 'x%.0s' $(seq 120)).sock
expect_contains "a socket path over the limit says the limit" "a Unix socket path holds at most 107" "$(check "$long")"
expect_contains "--check-config checks the mount point" "mount point $WORK/none does not exist" "$(timeout 10 "$FOLIOD" --check-config "$CONFIG" --mount "$WORK/none" 2>&1)"
expect_contains "a missing config file gives the errno" "$WORK/none.toml: No such file or directory (ENOENT)" "$(timeout 10 "$FOLIOD" --config "$WORK/none.toml" 2>&1)"
expect_contains "foliod --version answers" "foliod 0." "$(timeout 10 "$FOLIOD" --version 2>&1)"
expect_contains "an unknown flag is named" "Unknown option '--bogus'" "$(timeout 10 "$FOLIOD" --bogus 2>&1)"
printf 'mount = "%s"\n[[tiers]]\nname = "fast"\nsize = "64M"\n' "$MNT" > "$CONFIG"
expect_config_error "a top-level key says where it belongs" "$CONFIG:1: mount: a key outside any section (it belongs in [daemon])"
printf '[daemon]\nmount = "%s"\nsocket = "%s"\n[[tiers]]\nname = "fast"\nsize = "64m"\n' "$WORK/empty" "$SOCK" > "$CONFIG"
expect_contains "size suffixes are case-insensitive" "ok (1 tiers" "$(timeout 10 "$FOLIOD" --check-config "$CONFIG" 2>&1)"
printf '[daemon]\nmount = "%s"\n[[tiers]]\nname = "fast"\nsize = "1T"\n[[tiers]]\nname = "slow"\nsize = "1T"\n' "$MNT" > "$CONFIG"
expect_config_error "tiers larger than the machine's memory are refused" "$CONFIG:8: [[tiers]] size: the tiers add up to 2199023255552 bytes, more than this machine's memory"

# A --space that is not valid UTF-8 reaches the daemon as typed and is refused there: it does
# not become U+FFFD and so the same space as every other such name.
write_config ''
start_daemon
ctl --space $'\xef\xbf\xbd' alloc --tier fast > /dev/null
for name in $'\xff' $'\xfe' $'a\xc3'; do
    out=$(ctl --space "$name" alloc --tier fast 2>&1)
    expect_contains "--space $(printf '%q' "$name"): the daemon's EINVAL" "EINVAL" "$out"
done
ctl --space $'\xff' destroy > /dev/null 2>&1
expect_eq "... and destroying one destroys no other space (U+FFFD keeps its folio)" "0 fast" "$(ctl --space $'\xef\xbf\xbd' migrate --to fast 0)"

# Numbers too large for the arithmetic behind them are refused with a message, never a trap.
for args in "foliobench bench --count 4398046511104" "foliobench exercise --tier fast --other slow --seconds 1e17" \
        "foliobench exercise --tier fast --other slow --seconds inf" "foliobench soak --seconds 1e300" "folioctl hold --seconds nan 0" \
        "foliobench bench --total 9999999999999999G"; do
    [ "${args%% *}" = foliobench ] && binary=$FOLIOBENCH || binary=$FOLIOCTL
    out=$("$binary" --socket "$SOCK" ${args#* } 2>&1); status=$?
    [ "$status" -eq 64 ] && pass "$args: refused with a usage error" || fail "$args: refused with a usage error" "status $status: $(printf '%s' "$out" | head -n 2)"
done
stop_daemon TERM
