# folioctl (the Swift client) against a fake daemon at the socket path that breaks one rule of
# the protocol per scenario (Tests/fakes/fake_foliod.py): every command fails cleanly, with
# EBADMSG and exit status 1, never a crash (a status of 128 or more) or a wrong success.
: "${FOLIOCTL:?FOLIOCTL must name the folioctl binary}"
FAKE_SOCK=$WORK/fake.sock
FAKE_PID=
fake_cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    cleanup
}
trap fake_cleanup EXIT

# serve SCENARIO: replaces the fake daemon with one playing SCENARIO.
serve() {
    [ -n "$FAKE_PID" ] && { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; }
    coproc FAKE { exec python3 "$REPO/Tests/fakes/fake_foliod.py" "$FAKE_SOCK" "$1"; }
    FAKE_PID=$FAKE_PID
    local line; read -r -t 10 line <&"${FAKE[0]}"
    [ "$line" = ready ] || fail "the fake daemon plays $1"
}
fctl() { "$FOLIOCTL" --socket "$FAKE_SOCK" "$@"; }

# expect_refused SCENARIO DESCRIPTION COMMAND...: exit 1 and EBADMSG in the output.
expect_refused() {
    local scenario=$1 what=$2; shift 2
    out=$("$@" 2>&1); status=$?
    if [ "$status" -eq 1 ] && case "$out" in *EBADMSG*|*"Bad message"*) true ;; *) false ;; esac; then
        pass "$scenario: $what fails with EBADMSG"
    else
        fail "$scenario: $what fails with EBADMSG" "status $status: $(printf '%s' "$out" | head -c 300)"
    fi
}

serve good
expect_eq "good: the fake daemon serves folioctl (so the failures below are the scenarios')" "0 fast 1 fast " \
    "$(fctl --space s alloc --tier fast --count 2 >/dev/null && fctl --space s migrate --to fast 0 1 | tr '\n' ' ')"

serve before-features
expect_eq "before-features: folioctl attaches again without the feature word, and is served" "0 fast 1 fast " \
    "$(fctl --space s alloc --tier fast --count 2 >/dev/null && fctl --space s migrate --to fast 0 1 | tr '\n' ' ')"

for scenario in short-folio-table short-pin-table short-tier-memfd tier-size-2^63 too-many-tiers fewer-fds not-a-memfd; do
    serve "$scenario"
    expect_refused "$scenario" "attach (folioctl alloc)" fctl --space s alloc --tier fast --count 1
done
serve alloc-fewer-handles
expect_refused alloc-fewer-handles "alloc --count 4" fctl --space s alloc --tier fast --count 4
serve alloc-handle-out-of-range
expect_refused alloc-handle-out-of-range "alloc" fctl --space s alloc --tier fast --count 1
for scenario in migrate-status-int32min migrate-status-unknown-tier migrate-fewer-statuses; do
    serve "$scenario"
    fctl --space s alloc --tier fast --count 2 > /dev/null
    expect_refused "$scenario" "migrate" fctl --space s migrate --to slow 0 1
done
serve free-status-int32min
fctl --space s alloc --tier fast --count 2 > /dev/null
expect_refused free-status-int32min "free" fctl --space s free 0 1
for scenario in error-errno-0 wrong-request-id truncated-reply; do
    serve "$scenario"
    expect_refused "$scenario" "alloc" fctl --space s alloc --tier fast --count 1
done

# A daemon that took the connection as it stopped (a restart under systemd) answers ESHUTDOWN:
# the client retries on a new connection and is served by the next one.
serve stopping-then-good
expect_eq "stopping-then-good: folioctl retries three ESHUTDOWN refusals and is served" "0" "$(fctl --space s alloc --tier fast --count 1 2>&1)"
