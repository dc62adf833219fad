# Clients in C and Python: the golden messages, libfolio against a fake daemon that lies and
# its test against a real one (both under valgrind), the examples, C, Python and the shell on
# one named space at once, and a program built against an installed tree with pkg-config.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
CBUILD=$REPO/.build-c
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I$REPO/libfolio/include"
export LD_LIBRARY_PATH=$CBUILD PYTHONPATH=$REPO/python

build() {  # build NAME SOURCE [EXTRA CC ARGS]: a test program in $WORK
    local name=$1 source=$2; shift 2
    cc $CFLAGS "$source" "$@" -o "$WORK/$name" -L"$CBUILD" -lfolio -lpthread 2>"$WORK/$name.cc.log" ||
        { fail "$name builds" "$(head -n 5 "$WORK/$name.cc.log")"; return 1; }
}

build golden "$REPO/Tests/libfolio/golden.c" -I"$REPO/libfolio/src" "$CBUILD/libfolio.a"  # the wire helpers are not exported
out=$("$WORK/golden" "$REPO/Tests/FolioProtocolTests/Golden" 2>&1)
expect_contains "libfolio encodes and decodes every golden message" ", 0 failed" "$out"

# A daemon that lies (Tests/fakes/fake_foliod.py, one scenario at a time): every lie is EBADMSG.
build fake_daemon_test "$REPO/Tests/libfolio/fake_daemon_test.c"
out=$(valgrind -q --error-exitcode=99 --leak-check=full "$WORK/fake_daemon_test" "$REPO/Tests/fakes/fake_foliod.py" "$WORK" 2>&1); status=$?
expect_eq "libfolio refuses every malformed reply of the fake daemon with EBADMSG: no crash, no fd left open, clean under valgrind" "0" "$status"
[ "$status" -eq 0 ] || printf '%s\n' "$out" | grep -E 'FAIL|==[0-9]+==' | head -n 10
expect_contains "... every check of it" ", 0 failed" "$out"

write_config ''
printf '\n[limits]\nnamed_spaces_per_uid = 4\n' >> "$CONFIG"
start_daemon
build client_test "$REPO/Tests/libfolio/client_test.c" -I"$REPO/libfolio/src"  # reads the mapped table
out=$(valgrind -q --error-exitcode=99 --leak-check=full "$WORK/client_test" "$SOCK" 2>&1); status=$?
expect_eq "libfolio's test passes, clean under valgrind --leak-check=full" "0" "$status"
[ "$status" -eq 0 ] || printf '%s\n' "$out" | grep -E 'FAIL|==[0-9]+==' | head -n 10
expect_contains "... every check of it" ", 0 failed" "$out"

build demote_cold "$REPO/examples/demote_cold.c"
out=$("$WORK/demote_cold" "$SOCK" 2>&1)
expect_contains "the C example keeps its records and demotes the cold ones" "64 of 64 intact" "$out"
out=$(python3 "$REPO/examples/demote_cold.py" "$SOCK" 2>&1)
expect_contains "the Python example does the same" "64 of 64 intact" "$out"

# C rewrites, Python migrates, the shell switches migrators: all on one named space.
build rewriter "$REPO/Tests/libfolio/rewriter.c"
seconds=6
"$WORK/rewriter" "$SOCK" shared 32 "$seconds" > "$WORK/rewriter.out" 2>&1 &
rewriter=$!
wait_for grep -q '^[0-9]' "$WORK/rewriter.out"
handles=$(head -n 1 "$WORK/rewriter.out")
python3 - "$SOCK" "$seconds" $handles > "$WORK/migrator.out" 2>&1 <<'PY' &
import sys, time, foliod
socket, seconds, handles = sys.argv[1], float(sys.argv[2]), [int(h) for h in sys.argv[3:]]
moved = requests = 0
with foliod.Client(socket, space="shared") as c:
    end, target = time.monotonic() + seconds, 1
    while time.monotonic() < end:
        moved += sum(r == c.tiers[target] for r in c.migrate(handles, target, reason="demotion" if target else "promotion"))
        requests, target = requests + 1, 1 - target
print(f"migrator: {requests} requests, {moved} folios moved")
PY
migrator=$!
switches=0
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ]; do
    for setting in mtcopy dcbm kernel; do
        echo "$setting" > "$MNT/migration/offload_migrator" && switches=$((switches + 1))
        echo 1 > "$MNT/$( [ "$setting" = kernel ] && echo mtcopy || echo "$setting")/offloading"
        sleep 0.05
    done
done
wait "$rewriter"; rewriter_status=$?
wait "$migrator"
expect_eq "C pins and rewrites while Python migrates and the shell switches ($switches switches): no torn read, no lost write" \
    "0" "$rewriter_status"
echo "        $(tail -n 1 "$WORK/rewriter.out"); $(cat "$WORK/migrator.out")"
moved=$(sed -n 's/.*, \([0-9]*\) folios moved/\1/p' "$WORK/migrator.out")
[ "${moved:-0}" -gt 0 ] && pass "... while the folios really moved ($moved moves)" || fail "... while the folios really moved" "$(cat "$WORK/migrator.out")"
# With the defaults (transactional batches, shadows): the rewriter's writes raced copies.
stats=$MNT/migration/stats
read -r committed aborted frozen hits < <(cat "$stats/tx_committed" "$stats/tx_aborted" "$stats/tx_frozen_copies" "$MNT/tiering/shadow_hits" | tr '\n' ' ')
tx="committed $committed, aborted $aborted, frozen $frozen, shadow hits $hits"
[ "$committed" -gt 0 ] && [ "$aborted" -gt 0 ] && pass "... through transactional batches, writes racing their copies ($tx)" || fail "... through transactional batches" "$tx"
stop_daemon TERM

# Installed: a program built with pkg-config against the tree, with no Swift library in sight.
prefix=$WORK/prefix
make -s -C "$REPO" install PREFIX="$prefix" CONFIGURATION=debug > "$WORK/install.log" 2>&1
expect_eq "make install PREFIX=... succeeds" "0" "$?"
for file in include/folio.h lib/libfolio.so.1 lib/libfolio.a lib/pkgconfig/folio.pc; do
    [ -e "$prefix/$file" ] && pass "installed: $file" || fail "installed: $file"
done
(
    unset LD_LIBRARY_PATH PYTHONPATH
    export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
    cc "$REPO/examples/demote_cold.c" $(pkg-config --cflags --libs folio) -Wl,-rpath,"$prefix/lib" -o "$WORK/installed_example" 2>&1
) > "$WORK/pkgconfig.log"
expect_eq "cc prog.c \$(pkg-config --cflags --libs folio) builds against the installed tree" "0" "$?"
expect_eq "... and links only libc's libraries, no Swift runtime" "" "$(ldd "$WORK/installed_example" | grep -Ei 'swift|Foundation|not found')"
exported=$(nm -D --defined-only "$prefix/lib/libfolio.so.1" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort | tr '\n' ' ')
declared=$(grep -o '^int *folio_[a-z_]*\|^void *folio_[a-z_]*\|^const char \*folio_[a-z_]*' "$REPO/libfolio/include/folio.h" | grep -o 'folio_[a-z_]*' | sort | tr '\n' ' ')
expect_eq "libfolio.so.1 exports exactly folio.h's functions" "$declared" "$exported"
expect_eq "... FOLIO_1's 14 and FOLIO_2's 2, with soname libfolio.so.1" "14 2 libfolio.so.1" \
    "$(nm -D --defined-only "$prefix/lib/libfolio.so.1" | grep -c '@@FOLIO_1$') $(nm -D --defined-only "$prefix/lib/libfolio.so.1" | grep -c '@@FOLIO_2$') $(objdump -p "$prefix/lib/libfolio.so.1" | awk '/SONAME/ { print $2 }')"
expect_eq "... FOLIO_2 is folio_stat and folio_stat_list" "folio_stat folio_stat_list " \
    "$(nm -D --defined-only "$prefix/lib/libfolio.so.1" | sed -n 's/.* T \(.*\)@@FOLIO_2$/\1/p' | sort | tr '\n' ' ')"
expect_eq "... and inherits FOLIO_1, so a program built against FOLIO_1 still runs" "FOLIO_2 FOLIO_1" \
    "$(objdump -p "$prefix/lib/libfolio.so.1" | awk '$NF == "FOLIO_2" && NF == 4 { getline; print "FOLIO_2", $1 }')"
expect_eq "... FOLIO_3 is folio_pin_read and folio_unpin_read, and inherits FOLIO_2" "folio_pin_read folio_unpin_read FOLIO_3 FOLIO_2" \
    "$(nm -D --defined-only "$prefix/lib/libfolio.so.1" | sed -n 's/.* T \(.*\)@@FOLIO_3$/\1/p' | sort | tr '\n' ' ')$(objdump -p "$prefix/lib/libfolio.so.1" | awk '$NF == "FOLIO_3" && NF == 4 { getline; print "FOLIO_3", $1 }')"
start_daemon
out=$(env -u LD_LIBRARY_PATH "$WORK/installed_example" "$SOCK" 2>&1)
expect_contains "the installed build runs" "64 of 64 intact" "$out"
site=$(find "$prefix/lib" -path '*/foliod/__init__.py' | head -n 1)
out=$(env -u LD_LIBRARY_PATH PYTHONPATH="$(dirname "$(dirname "$site")")" python3 -c "import foliod, sys; c = foliod.Client(sys.argv[1]); print(c.tiers)" "$SOCK" 2>&1)
expect_eq "the installed Python module finds the installed libfolio" "['fast', 'slow']" "$out"
stop_daemon TERM
