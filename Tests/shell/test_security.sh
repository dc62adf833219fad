# Who may use the service, and how much one session may take.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}" "${FOLIOBENCH:?FOLIOBENCH must name the foliobench binary}"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
getent group foliodtest >/dev/null || groupadd foliodtest

write_config ''
sed -i "s|^log_level = \"info\"|log_level = \"info\"\ngroup = \"foliodtest\"|" "$CONFIG"
printf '\n[limits]\nsessions = 3\nfolios_per_space = 10\nbytes_per_space = "64K"\n' >> "$CONFIG"
start_daemon
expect_eq "the socket is 0660, owned by the configured group" "660 foliodtest" "$(stat -c '%a %G' "$SOCK")"
out=$(as_nobody "$FOLIOCTL" --socket "$SOCK" stat 2>&1)
expect_contains "a user outside the group cannot connect" "EACCES" "$out"
out=$(setpriv --reuid=nobody --regid=nogroup --groups=foliodtest "$FOLIOCTL" --socket "$SOCK" alloc --tier fast --count 2 2>&1)
expect_eq "a member of the group is served" "0 1" "$(printf '%s' "$out" | tr '\n' ' ')"
many=$(seq -s, 50000 50299),foliodtest
out=$(setpriv --reuid=nobody --regid=nogroup --groups="$many" "$FOLIOCTL" --socket "$SOCK" stat 2>&1 | head -n 1)
expect_contains "a member with 301 supplementary groups is served (SO_PEERGROUPS past its first buffer)" "migrator:" "$out"
chmod 0666 "$SOCK"  # as if the socket leaked: the daemon still checks the peer
out=$(as_nobody "$FOLIOCTL" --socket "$SOCK" stat 2>&1)
expect_contains "a peer outside the group is refused by the daemon too" "not in the service's group: Permission denied (EACCES)" "$out"
chmod 0660 "$SOCK"
wait_for log_has "connection refused: not in the service's group"
expect_eq "a refused connection is logged with its uid" "0" "$?"

# Two uids that may both use the socket: a named space stays its owner's.
as_uid() { local uid=$1; shift; setpriv --reuid="$uid" --regid=nogroup --groups=foliodtest "$@"; }
out=$(as_uid 40001 "$FOLIOCTL" --socket "$SOCK" --space shared alloc --tier fast --count 1 2>&1)
expect_eq "uid 40001 creates the named space 'shared'" "0" "$out"
as_uid 40001 "$FOLIOCTL" --socket "$SOCK" --space shared fill --seed 3 0
out=$(as_uid 40002 "$FOLIOCTL" --socket "$SOCK" --space shared free 0 2>&1)
expect_contains "uid 40002, also in the group, cannot attach it" "attach: Permission denied (EACCES)" "$out"
as_uid 40001 "$FOLIOCTL" --socket "$SOCK" --space shared verify --seed 3 0 && pass "... and the owner's folio is untouched" || fail "... and the owner's folio is untouched"
out=$(as_uid 40002 "$FOLIOCTL" --socket "$SOCK" --space mine alloc --tier fast --count 1 2>&1)
expect_eq "uid 40002 has named spaces of its own" "0" "$out"

out=$("$FOLIOCTL" --socket "$SOCK" alloc --tier fast --count 11 2>&1)
expect_contains "more folios than folios_per_space is EDQUOT" "EDQUOT" "$out"
out=$("$FOLIOCTL" --socket "$SOCK" alloc --tier fast --order 5 2>&1)
expect_contains "more bytes than bytes_per_space is EDQUOT" "EDQUOT" "$out"
out=$("$FOLIOCTL" --socket "$SOCK" alloc --tier fast --count 10 2>&1)
expect_eq "exactly folios_per_space is allowed" "10" "$(printf '%s\n' "$out" | wc -l)"

holders=
# The three holders connect as fast as the machine lets them. Ask the mount, which takes no
# session, until all three have their 4 folios of 4 KiB (in fast or slow: they move between
# them); then one session more.
both_free() { echo $(( $(cat "$MNT/tiers/fast/free_bytes") + $(cat "$MNT/tiers/slow/free_bytes") )); }
free=$(both_free)
for _ in 1 2 3; do "$FOLIOBENCH" --socket "$SOCK" exercise --tier fast --other slow --order 0 --count 4 --seconds 30 >/dev/null 2>&1 & holders="$holders $!"; done
end=$((SECONDS + 20))
while [ "$SECONDS" -lt "$end" ] && [ $((free - $(both_free))) -lt $((3 * 4 * 4096)) ]; do sleep 0.1; done
out=$("$FOLIOCTL" --socket "$SOCK" stat 2>&1)
expect_contains "a session past [limits] sessions is refused with EUSERS" "too many sessions (3): Too many users (EUSERS)" "$out"
kill $holders; wait $holders 2>/dev/null
expect_contains "... and served again once sessions end" "migrator: kernel" "$("$FOLIOCTL" --socket "$SOCK" stat 2>&1)"
stop_daemon TERM

sed -i 's|^group = "foliodtest"|group = "nosuchgroup"|' "$CONFIG"
out=$("$FOLIOD" --config "$CONFIG" 2>&1)
expect_contains "an unknown group is a start-up error" "group 'nosuchgroup' does not exist" "$out"
