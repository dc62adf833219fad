# The installed tree under a real systemd (PID 1 in a throwaway container booted by
# ./nspawn-box with systemd-nspawn: a tmpfs root with this machine's /usr read-only and the
# tree bound at /usr/local), with no Swift toolchain inside: socket activation, a named
# space and the knobs surviving SIGKILL, restart and the watchdog, reload, stop, and the
# journal's priorities. Needs the release build (`make test` builds it first).
STAGE=$WORK/stage
nspawn_box=$REPO/Tests/shell/nspawn-box
in_box() { "$nspawn_box" exec "$WORK/box" "$@"; }
sock=/run/foliod/foliod.sock
ctl() { in_box folioctl --socket "$sock" "$@"; }

out=$("$nspawn_box" check 2>&1) || { fail "this machine can boot a throwaway systemd" "$out"; return 0; }
make -s -C "$REPO" install DESTDIR="$STAGE" PREFIX=/usr/local > "$WORK/install.log" 2>&1 || { fail "make install DESTDIR=... PREFIX=/usr/local" "$(tail -n 5 "$WORK/install.log")"; return 0; }
expect_eq "the installed binaries need no Swift runtime (ldd)" "" "$(ldd "$STAGE/usr/local/bin/foliod" "$STAGE/usr/local/bin/folioctl" "$STAGE/usr/local/bin/foliobench" | grep -i 'swift\|not found')"
trap '"$nspawn_box" stop "$WORK/box"; cleanup' EXIT
# A failing check leaves the unit's journal here for the reader (FOLIOD_BOX_JOURNAL=FILE).
[ -n "${FOLIOD_BOX_JOURNAL:-}" ] && trap 'in_box journalctl --no-pager > "$FOLIOD_BOX_JOURNAL" 2>&1; "$nspawn_box" stop "$WORK/box"; cleanup' EXIT
out=$("$nspawn_box" start "$WORK/box" --usr-local "$STAGE" 2>&1) && pass "systemd boots in the box" ||
    { fail "systemd boots in the box" "$out"; return 0; }
expect_eq "no toolchain inside" "absent" "$(in_box sh -c 'test -e /opt/swift && echo present || echo absent')"

# Socket activation: the socket unit listens, the first client starts the service.
wait_for in_box systemctl is-active --quiet foliod.socket
expect_eq "foliod.socket listens at $sock, 0660 root:foliod" "660 root foliod" "$(in_box stat -c '%a %U %G' "$sock")"
out=$(ctl --space db alloc --tier fast --order 4 --count 8 | tr '\n' ' ')
expect_eq "the first client starts foliod and is served" "0 1 2 3 4 5 6 7 " "$out"
expect_eq "READY came once the mount and the socket answered" "active" "$(in_box systemctl is-active foliod)"
expect_contains "it listens on the socket systemd passed" "listening on the socket the service manager passed" "$(in_box journalctl -u foliod --no-pager)"
ctl --space db fill --seed 9 0 1 2 3 4 5 6 7
in_box sh -c 'echo 1 > /run/foliod/knobs/mtcopy/offloading && echo 3 > /run/foliod/knobs/mtcopy/threads'
expect_eq "a named space, the knob journal and the mount's connection are in the fd store" "7" "$(in_box systemctl show foliod -p NFileDescriptorStore --value)"

pid_of() { in_box systemctl show foliod -p MainPID --value; }
restarted_from() {  # restarted_from OLD-PID: waits (at most 30 s) until another instance is active
    for _ in $(seq 150); do
        local pid; pid=$(pid_of)
        [ "$pid" != "$1" ] && [ "$pid" != 0 ] && in_box systemctl is-active --quiet foliod && return 0
        sleep 0.2
    done
    return 1
}
intact() { ctl --space db verify --seed 9 0 1 2 3 4 5 6 7 > /dev/null 2>&1; }

old=$(pid_of)
in_box systemctl kill -s KILL foliod
restarted_from "$old" && pass "SIGKILL: systemd restarts foliod" || fail "SIGKILL: systemd restarts foliod"
intact && pass "... every byte of the named space is back" || fail "... every byte of the named space is back"
expect_eq "... the knobs as the operator left them" "kernel [mtcopy] dcbm 3" \
    "$(in_box cat /run/foliod/knobs/migration/offload_migrator /run/foliod/knobs/mtcopy/threads | tr '\n' ' ' | sed 's/ $//')"
expect_contains "... and the log says what was adopted" "adopted a stored space: 8 folios, 524288 bytes" "$(in_box journalctl -u foliod --no-pager)"
out=$(ctl --space db migrate --to slow 0 1 2 3 | tr '\n' ' ')
expect_eq "an adopted space migrates" "0 slow 1 slow 2 slow 3 slow " "$out"

# The knob state comes back whatever knobs and order the operator used: the active migrator
# by its name, not what offload_migrator shows, and not undone by a view written before it.
knobs=/run/foliod/knobs
in_box sh -c "echo dcbm > $knobs/migration/offload_migrator"
old=$(pid_of)
in_box systemctl kill -s KILL foliod
restarted_from "$old"
expect_eq "SIGKILL after echo dcbm > migration/offload_migrator: dcbm is back" "kernel mtcopy [dcbm]" "$(in_box cat $knobs/migration/offload_migrator)"
in_box sh -c "echo 0 > $knobs/dcbm/offloading && echo 1 > $knobs/dcbm/offloading && echo mtcopy > $knobs/migration/offload_migrator && echo 5 > $knobs/dcbm/nr_dma_chan"
old=$(pid_of)
in_box systemctl restart foliod
restarted_from "$old"
expect_eq "systemctl restart after echo 1 > dcbm/offloading; echo mtcopy > migration/offload_migrator: mtcopy, and each count" \
    "kernel [mtcopy] dcbm 3 5" "$(in_box cat $knobs/migration/offload_migrator $knobs/mtcopy/threads $knobs/dcbm/nr_dma_chan | tr '\n' ' ' | sed 's/ $//')"

# A knob written every 10 ms while the service restarts and is killed: the mount stays (its
# connection is in the fd store), so every write waits for the next instance and none fails.
in_box sh -c 'end=$(($(date +%s) + 9)); n=0; bad=0
    while [ "$(date +%s)" -lt "$end" ]; do
        echo $((n % 7 + 1)) > /run/foliod/knobs/tiering/hot_threshold 2>> /tmp/knob.err || bad=$((bad + 1))
        n=$((n + 1)); sleep 0.01
    done; echo "writes $n failed $bad last $(( (n - 1) % 7 + 1 ))"; cat /tmp/knob.err 2>/dev/null' > "$WORK/knob-writes.out" 2>&1 &
writer=$!
sleep 1.5; in_box systemctl restart foliod
sleep 2; old=$(pid_of); in_box systemctl kill -s KILL foliod; restarted_from "$old"
wait "$writer"
summary=$(head -n 1 "$WORK/knob-writes.out")
case "$summary" in
    writes*" failed 0 "*) pass "a knob write every 10 ms across systemctl restart and SIGKILL: none fails ($summary)" ;;
    *) fail "a knob write every 10 ms across systemctl restart and SIGKILL: none fails" "$(head -n 5 "$WORK/knob-writes.out")" ;;
esac
expect_eq "... and the knob holds the last value written" "${summary##* last }" "$(in_box cat $knobs/tiering/hot_threshold)"
expect_contains "... the new instance took the mount over" "took over the knob mount the previous instance left" "$(in_box journalctl -u foliod --no-pager)"

# A client every 10 ms while the service restarts twice: the socket never stops listening.
in_box sh -c 'end=$(($(date +%s) + 5)); n=0; bad=0
    while [ "$(date +%s)" -lt "$end" ]; do
        folioctl --socket /run/foliod/foliod.sock --space db verify --seed 9 0 1 2 3 4 5 6 7 > /tmp/client.out 2>&1 || { bad=$((bad + 1)); cat /tmp/client.out; }
        n=$((n + 1)); sleep 0.01
    done; echo "clients $n failed $bad"' > "$WORK/clients.out" 2>&1 &
clients=$!
sleep 1.5; in_box systemctl restart foliod; sleep 1; in_box systemctl restart foliod
wait "$clients"
summary=$(tail -n 1 "$WORK/clients.out")
case "$summary" in
    clients*" failed 0") pass "systemctl restart twice under a client every 10 ms: every request answered ($summary)" ;;
    *) fail "systemctl restart twice under a client every 10 ms: every request answered" "$(tail -n 5 "$WORK/clients.out")" ;;
esac
expect_eq "... not one ECONNREFUSED" "0" "$(grep -c ECONNREFUSED "$WORK/clients.out")"

# The watchdog: a stopped daemon is killed and restarted by systemd, the data intact.
in_box sh -c 'mkdir -p /run/systemd/system/foliod.service.d && printf "[Service]\nWatchdogSec=2\n" > /run/systemd/system/foliod.service.d/watchdog.conf && systemctl daemon-reload && systemctl restart foliod'
old=$(pid_of)
in_box kill -STOP "$old"
restarted_from "$old" && pass "WatchdogSec=2 and SIGSTOP: killed and restarted by systemd" || fail "WatchdogSec=2 and SIGSTOP: killed and restarted by systemd"
expect_contains "... for the watchdog" "Failed with result 'watchdog'" "$(in_box journalctl -u foliod --no-pager)"
intact && pass "... the named space intact" || fail "... the named space intact"

# Metrics under systemd, turned on as the README says (the shipped config's two lines
# uncommented, then a restart): the unit's sandboxing lets the endpoint listen. A restart that
# adopts the stored space while another process holds the port serves on without it.
config=$STAGE/usr/local/etc/foliod/foliod.toml
sed -i 's|^# \[metrics\]$|[metrics]|; s|^# listen = "127.0.0.1:9464"$|listen = "127.0.0.1:9464"|' "$config"
old=$(pid_of)
in_box systemctl restart foliod
restarted_from "$old"
metrics() { in_box curl -sf http://127.0.0.1:9464/metrics; }
wait_for metrics > /dev/null
expect_contains "[metrics] listen on and systemctl restart: the endpoint serves under the unit's sandbox" "foliod_folios_migrated_total" "$(metrics)"
# The holder binds the port the moment the killed daemon's listener is gone, before systemd's
# restart (RestartSec=100ms) brings the next instance up.
in_box sh -c 'python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
while True:
    try: s.bind((\"127.0.0.1\", 9464)); break
    except OSError: time.sleep(0.001)
s.listen(); open(\"/tmp/holder.ready\", \"w\").close(); time.sleep(60)
" > /tmp/holder.log 2>&1 & echo $! > /tmp/holder.pid'
old=$(pid_of)
in_box systemctl kill -s KILL foliod
restarted_from "$old" && pass "SIGKILL with the metrics port taken meanwhile: the next instance serves" || fail "SIGKILL with the metrics port taken meanwhile: the next instance serves" "$(in_box cat /tmp/holder.log)"
expect_eq "... the port was the holder's when it started" "yes" "$(in_box sh -c 'test -e /tmp/holder.ready && echo yes || echo no')"
expect_contains "... and it logs the endpoint off until the next start" "the metrics endpoint is off until the next start" "$(in_box journalctl -u foliod --no-pager)"
intact && pass "... the named space intact" || fail "... the named space intact"
in_box sh -c 'kill "$(cat /tmp/holder.pid)"'

# Reload: a changed [knobs] line is stored; a config that does not parse changes nothing.
cp "$config" "$WORK/config.orig"
sed -i 's|^"dcbm/nr_dma_chan" = 1$|"dcbm/nr_dma_chan" = 2|' "$config"
in_box systemctl reload foliod
knob_is() { [ "$(in_box cat "/run/foliod/knobs/$1")" = "$2" ]; }
wait_for knob_is dcbm/nr_dma_chan 2 && pass "systemctl reload stores a changed [knobs] line" || fail "systemctl reload stores a changed [knobs] line"
echo 'garbage here' >> "$config"
in_box systemctl reload foliod
wait_for in_box sh -c 'journalctl -u foliod -p err --no-pager | grep -q "SIGHUP:"' && pass "... a broken config is logged at priority err" || fail "... a broken config is logged at priority err"
cp "$WORK/config.orig" "$config"
expect_eq "... and the daemon keeps serving" "active" "$(in_box systemctl is-active foliod)"
priorities=$(in_box journalctl -u foliod -o json --no-pager | python3 -c '
import json, sys
entries = [json.loads(line) for line in sys.stdin]
def priority(text):
    return next((e["PRIORITY"] for e in entries if e.get("SYSLOG_IDENTIFIER") == "foliod" and text in e["MESSAGE"]), None)
print(priority("serving"), priority("knob changed"), priority("nothing was applied"))')
expect_eq "the journal has each line at its priority (serving: info, knob changed: notice, SIGHUP refused: err)" "6 5 3" "$priorities"

# Stop: no mount, no socket, no runtime directory; the fd store goes with it.
in_box systemctl stop foliod.socket foliod.service
expect_eq "systemctl stop foliod.socket foliod: both inactive" "inactive inactive" "$(in_box systemctl is-active foliod.socket foliod | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... no mount" "0" "$(in_box grep -c ' /run/foliod/knobs ' /proc/mounts)"
expect_eq "... no socket, no runtime directory" "absent" "$(in_box sh -c 'test -e /run/foliod && echo present || echo absent')"
in_box systemctl start foliod.socket
out=$(ctl --space db verify --seed 9 0 2>&1)
expect_contains "after a stop the space is gone, as the README says" "ENOENT" "$out"
