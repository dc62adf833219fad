# Runs inside the VM Tests/vm/run boots (three NUMA nodes: node 0 with both CPUs, nodes 1 and
# 2 CPU-less, node 2 the farthest), as root, against the release binaries in $1, writing its
# report to $2/guest.log and "RESULT passed failed" as its last line.
#   bash guest.sh BIN_DIR OUT_DIR
# Every check reads where the kernel put the daemon's pages (/proc/PID/numa_maps, the memfd of
# each tier in each space) and what the daemon says (tiers/<name>/node_bytes), and checks every
# byte through a client (folioctl verify).
set -u
BIN=$1 OUT=$2
exec > "$OUT/guest.log" 2>&1
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)  # the guest's /tmp: an overlay of its own
mkdir -p "$WORK/mnt" "$WORK/state" "$WORK/bin"
# Run from the guest's tmpfs: every exec over the 9p root costs seconds under emulation.
cp "$BIN/foliod" "$BIN/folioctl" "$WORK/bin/" && BIN=$WORK/bin
MNT=$WORK/mnt SOCK=$WORK/foliod.sock LOG=$WORK/foliod.log CONFIG=$WORK/foliod.toml
passed=0 failed=0
pass() { passed=$((passed + 1)); printf '  ok    %s (%d s)\n' "$1" "$SECONDS"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s (%d s)\n' "$1" "$SECONDS"; [ -n "${2:-}" ] && printf '        %s\n' "$2"; return 0; }
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi; }
expect_contains() { case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "expected to contain [$2], got [$3]" ;; esac; }
finish() {
    [ -n "${SUPERVISOR:-}" ] && kill "$SUPERVISOR" 2>/dev/null && wait "$SUPERVISOR"
    [ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON"
    grep -q " $MNT fuse" /proc/mounts && umount -l "$MNT"
    echo "--- daemon log (last 60 lines)"; tail -n 60 "$LOG"
    echo "RESULT $passed $failed"
    exit 0
}
trap finish EXIT
# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds, for at most
# SECONDS of wall time.
wait_until() {
    local end=$((SECONDS + $1)); shift
    while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
    return 1
}
ctl() { "$BIN/folioctl" --socket "$SOCK" --space vm "$@"; }
answers() { cat "$MNT/migration/offload_migrator" >/dev/null 2>&1; }

echo "kernel $(uname -r), nodes $(cat /sys/devices/system/node/online), CPUs on $(cat /sys/devices/system/node/has_cpu)"
for node in /sys/devices/system/node/node[0-9]*; do echo "${node##*/}: distances $(cat "$node/distance")"; done
for tier in /sys/devices/virtual/memory_tiering/memory_tier*; do echo "${tier##*/}: nodes $(cat "$tier/nodelist")"; done
modprobe fuse
[ -c /dev/fuse ] && pass "modprobe fuse gives /dev/fuse" || fail "modprobe fuse gives /dev/fuse"

cat > "$CONFIG" <<TOML
[daemon]
mount = "$MNT"
socket = "$SOCK"
log_level = "info"

[[tiers]]
name = "near"
size = "40M"
node = 0

[[tiers]]
name = "far"
size = "40M"
node = 1

[[tiers]]
name = "farthest"
size = "40M"
node = 2
TOML
declare -A NODE=([near]=0 [far]=1 [farthest]=2)

# placement PID: a line per tier: its name, bytes of its memfds' pages on its node, bytes
# elsewhere, and the policies the mappings show (numa_maps counts pages of kernelpagesize_kB).
placement() {
    awk -v nodes="near=0 far=1 farthest=2" '
        BEGIN { n = split(nodes, pairs, " "); for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); node[kv[1]] = kv[2]; on[kv[1]] = 0; off[kv[1]] = 0; policy[kv[1]] = "" } }
        match($0, /file=\/memfd:foliod-[0-9]+-[^ ]+/) {
            # The file is written with its space as \040: "foliod-ID-NAME\040(deleted)".
            name = substr($0, RSTART + 19, RLENGTH - 19); sub(/^[0-9]+-/, "", name); sub(/\\.*/, "", name)
            if (!(name in node)) next
            kb = 4; for (i = 3; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { kb = substr($i, 19) }
            for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
                split(substr($i, 2), nc, "="); if (nc[1] == node[name]) on[name] += nc[2] * kb * 1024; else off[name] += nc[2] * kb * 1024
            }
            if (index(policy[name], $2) == 0) policy[name] = policy[name] $2 " "
        }
        END { for (name in node) printf "%s %d %d %s\n", name, on[name], off[name], policy[name] }' "/proc/$1/numa_maps"
}

# check_placement WHEN PID: every tier's pages are on its node, the tiers that must hold data
# hold some, and tiers/<name>/node_bytes says the same as numa_maps.
check_placement() {
    local when=$1 pid=$2 report name on off policy bad="" empty="" knob="" line total=0
    report=$(placement "$pid")
    echo "$report" | sed "s/^/        numa_maps: /"
    while read -r name on off policy; do
        [ "$off" -eq 0 ] || bad="$bad $name:$off bytes off node ${NODE[$name]}"
        [ "$on" -gt 0 ] || empty="$empty $name"
        total=$((total + on))
        line=$(cat "$MNT/tiers/$name/node_bytes" 2>&1)
        echo "        tiers/$name/node_bytes: $line"
        [ "$(echo "$line" | tr ' ' '\n' | grep -c "^N${NODE[$name]}=$on$")" -eq 1 ] \
            && [ "$(echo "$line" | tr ' ' '\n' | grep -v "^N${NODE[$name]}=" | grep -vc '=0$')" -eq 0 ] \
            || knob="$knob $name:[$line]"
    done <<< "$report"
    [ -z "$bad" ] && pass "$when: every page of every tier is on its node" || fail "$when: every page of every tier is on its node" "$bad"
    [ -z "$empty" ] && [ "$total" -ge "$DATA" ] && pass "$when: ... and each tier holds pages, $total bytes in all (the folios: $DATA)" \
        || fail "$when: ... and each tier holds pages, at least the folios' $DATA bytes in all" "empty:$empty; $total bytes"
    [ -z "$knob" ] && pass "$when: ... and tiers/<name>/node_bytes says so" || fail "$when: tiers/<name>/node_bytes agrees with numa_maps" "$knob"
}

check_bytes() {  # WHEN: every folio allocated so far holds its pattern
    local out
    out=$(ctl verify --seed 7 $ALL 2>&1) && pass "$1: every byte is intact ($(echo $ALL | wc -w) folios)" || fail "$1: every byte is intact" "$(echo "$out" | head -n 3)"
}

# --- Under a supervisor with an fd store (fdstore.py), so a restart keeps the named space.
python3 "$HERE/fdstore.py" "$WORK/state" "$BIN/foliod" --config "$CONFIG" >>"$LOG" 2>&1 &
SUPERVISOR=$!
wait_until 60 test -s "$WORK/state/ready" && wait_until 10 answers && pass "foliod starts on three nodes" || { fail "foliod starts" "$(tail -n 5 "$LOG")"; exit; }
DAEMON=$(cat "$WORK/state/ready")
for name in near far farthest; do
    expect_eq "tiers/$name/node is ${NODE[$name]}" "${NODE[$name]}" "$(cat "$MNT/tiers/$name/node")"
done

# 16 MiB of 2 MiB folios and 256 KiB of 4 KiB ones per tier, each filled with its pattern.
declare -A IN
ALL=
for name in near far farthest; do
    IN[$name]="$(ctl alloc --tier "$name" --order 9 --count 8) $(ctl alloc --tier "$name" --order 0 --count 64)"
    ALL="$ALL ${IN[$name]}"
done
[ "$(echo $ALL | wc -w)" -eq 216 ] && pass "216 folios allocated, 72 in each tier" || fail "216 folios allocated" "got [$ALL]"
ctl fill --seed 7 $ALL || fail "fill the folios"
DATA=$(( 3 * (8 * (2 << 20) + 64 * 4096) ))
check_placement "after allocation" "$DAEMON"
check_bytes "after allocation"

# Each migrator moves every folio one tier on (near to far, far to farthest, farthest to near).
for migrator in kernel mtcopy dcbm; do
    echo "$migrator" > "$MNT/migration/offload_migrator"
    expect_contains "migration/offload_migrator is $migrator" "[$migrator]" "$(cat "$MNT/migration/offload_migrator")"
    moved=0 expected=0
    for pair in near:far far:farthest farthest:near; do
        from=${pair%%:*} to=${pair#*:}
        out=$(ctl migrate --to "$to" ${IN[$from]})
        moved=$((moved + $(echo "$out" | awk -v to="$to" '$2 == to' | wc -l)))
        expected=$((expected + $(echo ${IN[$from]} | wc -w)))
    done
    [ "$expected" -eq 216 ] && [ "$moved" -eq "$expected" ] && pass "$migrator moved every folio to its next tier ($moved)" \
        || fail "$migrator moved every folio to its next tier" "moved $moved of $expected (216 allocated)"
    set -- "${IN[near]}" "${IN[far]}" "${IN[farthest]}"
    IN[far]=$1 IN[farthest]=$2 IN[near]=$3
    check_placement "after $migrator migrated" "$DAEMON"
    check_bytes "after $migrator migrated"
done

# The tiering policy: allocating past near demotes to far, and far past its watermarks to
# farthest; folios touched in farthest come back up.
echo kernel > "$MNT/migration/offload_migrator"
echo 1 > "$MNT/tiering/enabled"
# 56 MiB more into near, which holds 16.25 of its 40: near and far overflow, into farthest.
more=$(ctl alloc --tier near --order 9 --count 28)
ctl fill --seed 7 $more || fail "fill the folios allocated past near"
ALL="$ALL $more"
farthest_used() { echo $(( (40 << 20) - $(cat "$MNT/tiers/farthest/free_bytes") )); }
farthest_filled() { [ "$(farthest_used)" -gt $(( (16 << 20) + (256 << 10) )) ]; }
wait_until 30 farthest_filled
[ "$(cat "$MNT/tiering/demoted")" -gt 0 ] && [ "$(farthest_used)" -gt $(( (16 << 20) + (256 << 10) )) ] \
    && pass "allocating past near demoted $(cat "$MNT/tiering/demoted") folios, down to farthest ($(farthest_used) bytes used there)" \
    || fail "the policy demoted down to farthest" "demoted $(cat "$MNT/tiering/demoted"), farthest holds $(farthest_used) bytes"
# Still, so that numa_maps and node_bytes are read of the same placement.
echo 0 > "$MNT/tiering/enabled"
check_placement "after the policy's demotions" "$DAEMON"
check_bytes "after the policy's demotions"
echo 1 > "$MNT/tiering/enabled"
# Room above farthest again, then folios touched there go up.
out=$(ctl free $more | grep -vc ' freed$')
expect_eq "the folios allocated past near are freed" "0" "$out"
ALL=$(echo $ALL | tr ' ' '\n' | grep -vxF -f <(echo $more | tr ' ' '\n') | tr '\n' ' ')
echo 50 > "$MNT/tiering/scan_period_ms"
echo 4 > "$MNT/tiering/hot_threshold"
echo 1000 > "$MNT/tiering/aggregation_interval_ms"
echo 65536 > "$MNT/tiering/promote_rate_limit_MBps"
touched=$(echo ${IN[farthest]} | tr ' ' '\n' | head -n 4)
ctl migrate --to farthest --reason demotion $touched >/dev/null
before=$(cat "$MNT/tiering/promoted")
# Each pass of verify pins each touched folio 8 times: a heat of 8 or more within an interval.
touch_until_promoted() { ctl verify --seed 7 $touched $touched $touched $touched $touched $touched $touched $touched >/dev/null; [ "$(cat "$MNT/tiering/promoted")" -gt "$before" ]; }
wait_until 30 touch_until_promoted && pass "folios touched in farthest are promoted ($(( $(cat "$MNT/tiering/promoted") - before )) folios)" \
    || fail "folios touched in farthest are promoted" "promoted $(cat "$MNT/tiering/promoted"), before $before"
echo 0 > "$MNT/tiering/enabled"
check_placement "after the policy's promotions" "$DAEMON"
check_bytes "after the policy's promotions"

# Stopped and started again: the supervisor hands the stored memfds to the next daemon.
kill -TERM "$DAEMON"
restarted() { [ -s "$WORK/state/ready" ] && [ "$(cat "$WORK/state/ready")" != "$DAEMON" ] && answers; }
wait_until 60 restarted && pass "foliod stops and starts again (pid $DAEMON, now $(cat "$WORK/state/ready"))" || { fail "foliod starts again" "$(tail -n 5 "$LOG")"; exit; }
DAEMON=$(cat "$WORK/state/ready")
grep -q 'adopted' "$LOG" && pass "... and adopts the stored space" || fail "... and adopts the stored space" "$(grep -i space "$LOG" | tail -n 3)"
check_bytes "after a restart"
# The folios move once more, so the new daemon's mappings hold them all again and what it
# allocates lands in the adopted memfds.
moved=0
for pair in near:far far:farthest farthest:near; do
    from=${pair%%:*} to=${pair#*:}
    moved=$((moved + $(ctl migrate --to "$to" ${IN[$from]} | awk -v to="$to" '$2 == to' | wc -l)))
done
# The policy moved some folios since: those already in the target stay (a status of the tier all the same).
expect_eq "after a restart every folio moves again" "216" "$moved"
check_placement "after a restart and a migration" "$DAEMON"
check_bytes "after a restart and a migration"
kill "$SUPERVISOR"; wait "$SUPERVISOR"; SUPERVISOR=
DAEMON=

# --- No [[tiers]]: the machine's own tiers, fastest first.
sed -i '/^\[\[tiers\]\]/,$d' "$CONFIG"
: > "$LOG"
"$BIN/foliod" --config "$CONFIG" >>"$LOG" 2>&1 &
DAEMON=$!
wait_until 30 answers && pass "foliod starts with no [[tiers]] in the config" || { fail "foliod starts with no [[tiers]]" "$(tail -n 5 "$LOG")"; exit; }
echo "        tiers/: $(ls "$MNT/tiers" | tr '\n' ' ')"
shown=$(for tier in $(ls "$MNT/tiers"); do echo "$tier=$(cat "$MNT/tiers/$tier/node")"; done | tr '\n' ' ')
expect_eq "a tier per node, fastest first (memory tiers, then distances)" "tier0=0 tier1=1 tier2=2 " "$shown"
grep 'tiers from the machine' "$LOG" | sed 's/^/        log: /'
[ "$(grep -c 'tiers from the machine' "$LOG")" -ge 3 ] && pass "... and the log says how each was chosen" || fail "... and the log says how each was chosen" "$(head -n 20 "$LOG")"
cat "$MNT/tiers/tier2/node_choice" | sed 's/^/        tiers\/tier2\/node_choice: /'
handles=$(ctl alloc --tier tier2 --order 9 --count 4)
ctl fill --seed 7 $handles && ctl verify --seed 7 $handles || fail "folios in tier2"
expect_eq "8 MiB allocated in tier2 are on node 2 (node_bytes)" "N0=0 N1=0 N2=8388608" "$(cat "$MNT/tiers/tier2/node_bytes")"
(cd "$MNT" && grep . tiers/*/node tiers/*/size tiers/*/node_bytes tiers/*/node_choice) | sed 's/^/        /'
kill -TERM "$DAEMON"; wait "$DAEMON"; DAEMON=

# --- Listed tiers with node = "auto": each takes the machine's tier at its position.
cat >> "$CONFIG" <<TOML

[[tiers]]
name = "dram"
size = "64M"
node = "auto"

[[tiers]]
name = "cxl"
size = "64M"
node = "auto"
TOML
: > "$LOG"
"$BIN/foliod" --config "$CONFIG" >>"$LOG" 2>&1 &
DAEMON=$!
wait_until 30 answers && pass "foliod starts with node = \"auto\" tiers" || { fail "foliod starts with node = \"auto\"" "$(tail -n 5 "$LOG")"; exit; }
expect_eq "node = \"auto\" gives the first tier node 0, the second node 1" "0 1" "$(cat "$MNT/tiers/dram/node") $(cat "$MNT/tiers/cxl/node")"
grep -q 'tier cxl: node auto: node 1: ' "$LOG" && pass "... and logs the choice" || fail "... and logs the choice" "$(head -n 5 "$LOG")"
kill -TERM "$DAEMON"; wait "$DAEMON"; DAEMON=

# --- huge_pages = "auto" on a node counts that node's own reservation: 16 huge pages on node 1
# hold a 32 MiB tier there, none on node 2.
echo 16 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages
sed -i '/^\[\[tiers\]\]/,$d' "$CONFIG"
for node in 1 2; do printf '[[tiers]]\nname = "huge%s"\nsize = "32M"\nnode = %s\nhuge_pages = "auto"\n\n' "$node" "$node" >> "$CONFIG"; done
: > "$LOG"
"$BIN/foliod" --config "$CONFIG" >>"$LOG" 2>&1 &
DAEMON=$!
wait_until 30 answers && pass "foliod starts with huge_pages = \"auto\" tiers on nodes 1 and 2" || { fail "foliod starts with huge-page tiers" "$(tail -n 5 "$LOG")"; exit; }
expect_eq "node 1's reserved huge pages give its tier hugetlb, node 2's none" "hugetlb (auto) none (auto)" "$(cat "$MNT/tiers/huge1/huge_pages") $(cat "$MNT/tiers/huge2/huge_pages")"
grep 'huge_pages auto' "$LOG" | sed 's/^/        log: /'
handles=$(ctl alloc --tier huge1 --order 9 --count 4)
ctl fill --seed 7 $handles && ctl verify --seed 7 $handles || fail "folios in the hugetlb tier"
expect_eq "8 MiB allocated in the hugetlb tier are on node 1 (node_bytes)" "N0=0 N1=8388608 N2=0" "$(cat "$MNT/tiers/huge1/node_bytes")"
kill -TERM "$DAEMON"; wait "$DAEMON"; DAEMON=

# --- An unmodified program on three nodes: examples/gups under foliod-run (the C build beside
# the repository's release binaries), its table moved whole to each node by migrate --all; its
# pages follow, and its table verifies at the end.
CBUILD=$HERE/../../.build-c
[ -x "$CBUILD/foliod-run" ] && [ -f "$CBUILD/libfolio-run.so" ] && [ -x "$CBUILD/gups" ] \
    || { fail "foliod-run, libfolio-run.so and gups are built in .build-c (make libfolio)"; exit; }
cp "$CBUILD/foliod-run" "$CBUILD/libfolio-run.so" "$CBUILD/gups" "$BIN/"
sed -i '/^\[\[tiers\]\]/,$d' "$CONFIG"
for tier in near:0 far:1 farthest:2; do printf '[[tiers]]\nname = "%s"\nsize = "40M"\nnode = %s\n\n' "${tier%%:*}" "${tier#*:}" >> "$CONFIG"; done
# Emulated CPUs answer a revoke slowly: a generous deadline, so no batch is refused for it.
printf '[knobs]\n"migration/revoke_timeout_ms" = 10000\n' >> "$CONFIG"
: > "$LOG"
"$BIN/foliod" --config "$CONFIG" >>"$LOG" 2>&1 &
DAEMON=$!
wait_until 30 answers && pass "foliod starts for a program under foliod-run" || { fail "foliod starts for foliod-run" "$(tail -n 5 "$LOG")"; exit; }
"$BIN/foliod-run" --socket "$SOCK" --name gups -- "$BIN/gups" --bytes 16M --seconds 20 > "$WORK/gups.out" 2>&1 &
GUPS=$!
# MiB of the program's space in the tiers at COLUMNS (folioctl ps: PID NAME near far farthest).
program_mib() { "$BIN/folioctl" --socket "$SOCK" ps 2>/dev/null | awk -v columns="$1" '$2 == "gups" { n = split(columns, c, ","); for (i = 1; i <= n; i++) m += $c[i]; print m }'; }
at_least_16() { awk -v m="$(program_mib "$1")" 'BEGIN { exit !(m >= 16) }'; }
wait_until 60 at_least_16 3,4,5 && pass "gups runs under foliod-run, its table in foliod's tiers ($(program_mib 3,4,5) MiB)" \
    || fail "gups under foliod-run" "$("$BIN/folioctl" --socket "$SOCK" ps 2>&1; cat "$WORK/gups.out")"
for move in far:4 farthest:5 near:3; do
    tier=${move%%:*} column=${move#*:}
    out=$("$BIN/folioctl" --socket "$SOCK" --space gups migrate --all --to "$tier" 2>&1)
    at_least_16 "$column" && pass "migrate --all --to $tier moves the running program's table there ($(program_mib "$column") MiB)" \
        || fail "migrate --all --to $tier" "$out; $("$BIN/folioctl" --socket "$SOCK" ps)"
    report=$(placement "$DAEMON")
    echo "$report" | sed "s/^/        numa_maps: /"
    bad=$(echo "$report" | awk '$3 != 0 { printf " %s:%d bytes off its node", $1, $3 }')
    on=$(echo "$report" | awk -v t="$tier" '$1 == t { print $2 }')
    [ -z "$bad" ] && [ "${on:-0}" -ge $((16 << 20)) ] && pass "... and its pages are on node ${NODE[$tier]}, every tier's on its own" \
        || fail "... the program's pages on node ${NODE[$tier]}" "$tier on its node: ${on:-0} bytes;$bad"
done
wait "$GUPS"; status=$?
grep -q "verify ok" "$WORK/gups.out" && [ "$status" -eq 0 ] && pass "gups ends with its table verified ($(grep -o 'verify ok.*' "$WORK/gups.out"))" \
    || fail "gups' verification (status $status)" "$(tail -n 3 "$WORK/gups.out")"
kill -TERM "$DAEMON"; wait "$DAEMON"; DAEMON=
