# The README's session: folios in `fast`, a pattern, mtcopy on, a migration to `slow`, the
# pattern read back, the counters.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}" "${FOLIOBENCH:?FOLIOBENCH must name the foliobench binary}"
write_config '"mtcopy/threads" = 2'
start_daemon
ctl() { "$FOLIOCTL" --socket "$SOCK" --space demo "$@"; }

handles=$(ctl alloc --tier fast --order 9 --count 4)
expect_eq "alloc prints one handle a line" "4" "$(printf '%s\n' "$handles" | wc -l)"
ctl fill --seed 7 $handles && pass "fill writes the pattern" || fail "fill writes the pattern"
echo 1 > "$MNT/mtcopy/offloading"
out=$(ctl migrate --to slow --reason demotion $handles 4242)
expect_eq "migrate prints HANDLE STATUS, the errno's name for a bad handle" "$(printf '%s slow\n' $handles; echo '4242 ENOENT')" "$out"
ctl verify --seed 7 $handles && pass "verify after the migration: every byte right" || fail "verify after the migration"
ctl verify --seed 8 $handles >/dev/null; expect_eq "verify with another seed exits 1" "1" "$?"
expect_eq "mtcopy/folios_migrated counts the folios" "4" "$(cat "$MNT/mtcopy/folios_migrated")"
expect_eq "tiers/slow/folios_per_order" "0 0 0 0 0 0 0 0 0 4" "$(cat "$MNT/tiers/slow/folios_per_order")"
expect_contains "folioctl stat: key: value lines" "folios_migrated: 4" "$("$FOLIOCTL" --socket "$SOCK" stat)"

echo demotion > "$MNT/migration/reason_mask"
ctl migrate --to fast --reason promotion $handles >/dev/null
expect_eq "a reason masked out copies with kernel, not mtcopy" "4" "$(cat "$MNT/mtcopy/folios_migrated")"
err=$( { echo demotion,bogus > "$MNT/migration/reason_mask"; } 2>&1)
expect_contains "an unknown reason is EINVAL" "Invalid argument" "$err"
expect_eq "... and the mask is unchanged" "demotion" "$(cat "$MNT/migration/reason_mask")"

out=$(ctl alloc --tier fast --order 10 2>&1); status=$?
expect_eq "order 10 is refused" "1" "$status"
expect_contains "... with EINVAL" "EINVAL" "$out"
out=$(ctl alloc --tier warm 2>&1)
expect_contains "an unknown tier name is refused" "no tier 'warm'" "$out"

expect_eq "free prints HANDLE freed" "$(printf '%s freed\n' $handles)" "$(ctl free $handles)"
ctl destroy && pass "destroy" || fail "destroy"
expect_eq "every byte is back in the tiers" "268435456 268435456" "$(cat "$MNT/tiers/fast/free_bytes") $(cat "$MNT/tiers/slow/free_bytes")"

stop_daemon TERM
expect_eq "SIGTERM exits 0 with the service up" "0" "$STATUS"
[ -e "$SOCK" ] && fail "... and removes the socket file" || pass "... and removes the socket file"

start_daemon
out=$("$FOLIOD" --config "$CONFIG" --mount "$WORK/other" 2>&1)
expect_contains "a second daemon on the same socket is refused" "already answers" "$out"
stop_daemon TERM

# The benchmark (foliobench's, not the client's), as a smoke test of its output (speed is
# measured, never asserted).
start_daemon
csv=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --sizes 4K,16K --count 8 --migrators kernel,mtcopy:2,dcbm:2 --reps 2 --verify --format csv --plot "$WORK/bench.svg" 2>/dev/null)
expect_eq "bench --verify exits 0" "0" "$?"
expect_eq "bench --format csv: the header" "size,count,migrator,pages,gbps,ceiling_1t_gbps,ceiling_all_gbps,of_1t,of_1t_min,of_1t_max,of_all,of_all_min,of_all_max,of_kernel,copy_fraction,overhead_ns,faults_per_gib" "$(printf '%s\n' "$csv" | head -n 1)"
expect_eq "... the pages the tiers have, and the kernel row is 1.00 of itself" "none 1.000" "$(printf '%s\n' "$csv" | sed -n 2p | cut -d, -f4,14 | tr ',' ' ')"
expect_eq "bench --format csv: one row per size and setting" "4K,8,kernel 4K,8,mtcopy:2 4K,8,dcbm:2 16K,8,kernel 16K,8,mtcopy:2 16K,8,dcbm:2" "$(printf '%s\n' "$csv" | tail -n +2 | cut -d, -f1-3 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "bench switched migrators through the knobs" "kernel mtcopy [dcbm]" "$(cat "$MNT/migration/offload_migrator")"
expect_eq "bench --plot draws a line per setting and the ceiling" "4" "$(grep -c '<polyline' "$WORK/bench.svg")"
table=$("$FOLIOBENCH" --socket "$SOCK" bench --in-process --sizes 4K --count 4 --migrators kernel --reps 1 2>/dev/null)
expect_contains "bench --in-process prints the table with its targets" "verify: 0 folios wrong" "$table"
expect_contains "... and says which machine and page kind" "tier pages: 4 KiB pages (none); 1 rounds" "$table"
"$FOLIOCTL" --socket "$SOCK" bench --in-process --sizes 4K --count 4 --migrators kernel --reps 1 >/dev/null 2>&1
expect_eq "folioctl, the client, runs no load tool (a usage error)" "64" "$?"
batches=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --sizes 16K --count 16 --migrators kernel,dcbm:2 --batch-sizes 1,8 --reps 2 --plot "$WORK/batches.svg" 2>/dev/null)
expect_eq "bench --batch-sizes: a row per setting and batch size" "kernel 1 kernel 8 dcbm:2 1 dcbm:2 8" "$(printf '%s\n' "$batches" | awk '$1 == "16K" { print $3, $4 }' | tr '\n' ' ' | sed 's/ $//')"
csv=$("$FOLIOBENCH" --socket "$SOCK" bench --mount "$MNT" --sizes 16K --count 16 --migrators kernel --batch-sizes 1,8 --reps 1 --format csv 2>/dev/null)
expect_eq "bench --batch-sizes --format csv: a header and a comma-separated row per batch size" \
    "size,count,migrator,batch_size,gbps,batch_p50_ns,batch_p99_ns,first_folio_p50_ns,first_folio_p99_ns 16K,16,kernel,1 16K,16,kernel,8" \
    "$(printf '%s\n' "$csv" | sed '2,$s/^\([^,]*,[^,]*,[^,]*,[^,]*\),.*/\1/' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... and puts batch_size back" "512" "$(cat "$MNT/migration/batch_size")"
expect_eq "... its plot has a line per setting" "2" "$(grep -c '<polyline' "$WORK/batches.svg")"
stop_daemon TERM
