# The Debian package (`make deb`, which `make test` runs first): lintian passes it, and it
# installs into a throwaway root booted under a real systemd, where the service starts from
# it, a named space survives an upgrade's restart, and a purge stops everything. The root is
# this machine's own under an overlay whose upper layer is a tmpfs, booted by ./nspawn-box
# (see test_systemd.sh) with --overlay, so dpkg can write anywhere in it.
nspawn_box=$REPO/Tests/shell/nspawn-box
in_box() { "$nspawn_box" exec "$WORK/box" "$@"; }
out=$("$nspawn_box" check 2>&1) || { fail "this machine can boot a throwaway systemd" "$out"; return 0; }
deb=$(ls "$REPO"/.build-deb/foliod_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { fail "make deb built a package" "no .build-deb/foliod_*.deb: run make deb"; return 0; }
out=$(lintian "$deb" 2>&1)
expect_eq "lintian reports no error" "" "$(printf '%s\n' "$out" | grep '^E:')"
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/foliod ./usr/bin/folioctl ./usr/bin/foliobench ./etc/foliod/foliod.toml ./lib/systemd/system/foliod.service ./lib/systemd/system/foliod.socket \
        ./usr/lib/sysusers.d/foliod.conf ./usr/share/man/man8/foliod.8.gz ./usr/share/man/man1/folioctl.1.gz ./usr/share/man/man1/foliobench.1.gz \
        ./usr/lib/libfolio.so.1 ./usr/include/folio.h ./usr/lib/pkgconfig/folio.pc ./usr/lib/python3/dist-packages/foliod/__init__.py ./usr/share/doc/foliod/copyright \
        ./usr/bin/foliod-run ./usr/lib/libfolio-run.so ./usr/share/man/man1/foliod-run.1.gz; do
    case "$contents" in *" $path"*) pass "the package holds $path" ;; *) fail "the package holds $path" ;; esac
done
expect_eq "the config is a conffile" "/etc/foliod/foliod.toml" "$(dpkg-deb --info "$deb" conffiles)"

# The package reaches the box through a read-only bind of a directory of its own.
mkdir -p "$WORK/deb" && cp "$deb" "$WORK/deb/foliod.deb"
trap '"$nspawn_box" stop "$WORK/box"; cleanup' EXIT
out=$("$nspawn_box" start "$WORK/box" --overlay --bind-ro "$WORK/deb:/deb" 2>&1) && pass "systemd boots the throwaway root" ||
    { fail "systemd boots the throwaway root" "$out"; return 0; }

# Container images forbid starting services (policy-rc.d exits 101); a machine does not.
in_box rm -f /usr/sbin/policy-rc.d
out=$(in_box dpkg -i /deb/foliod.deb 2>&1)
expect_eq "dpkg -i installs it" "0" "$?"
expect_contains "... enabling the socket the Debian way" "sockets.target.wants/foliod.socket" "$out"
expect_eq "... the foliod group exists" "foliod" "$(in_box getent group foliod | cut -d: -f1)"
expect_eq "... and the socket and the service run" "active active" "$(in_box systemctl is-active foliod.socket foliod.service | tr '\n' ' ' | sed 's/ $//')"
sock=/run/foliod/foliod.sock
expect_eq "the installed folioctl is served" "0 1 " "$(in_box folioctl --socket "$sock" --space kept alloc --tier fast --count 2 | tr '\n' ' ')"
in_box folioctl --socket "$sock" --space kept fill --seed 5 0 1
expect_contains "the installed foliobench runs its load against it" "torn: 0" \
    "$(in_box foliobench --socket "$sock" exercise --tier fast --other slow --count 4 --seconds 1 2>&1)"
expect_eq "the installed Python module talks to it" "['fast', 'slow']" \
    "$(in_box /usr/bin/python3 -c 'import foliod; print(foliod.Client("/run/foliod/foliod.sock").tiers)' 2>&1)"
expect_eq "pkg-config finds libfolio" "$(sed -n 's/.*release = "\(.*\)"/\1/p' "$REPO/Sources/FolioProtocol/FoliodVersion.swift")" "$(in_box pkg-config --modversion folio)"
expect_eq "man foliod, man folioctl and man foliobench" "/usr/share/man/man8/foliod.8.gz /usr/share/man/man1/folioctl.1.gz /usr/share/man/man1/foliobench.1.gz" \
    "$(in_box man -w foliod folioctl foliobench | tr '\n' ' ' | sed 's/ $//')"
in_box dpkg -i /deb/foliod.deb > /dev/null 2>&1
in_box folioctl --socket "$sock" --space kept verify --seed 5 0 1 && pass "an upgrade restarts the service and the named space survives" || fail "an upgrade restarts the service and the named space survives"
in_box dpkg --purge foliod > /dev/null 2>&1
expect_eq "dpkg --purge stops both units" "inactive inactive" "$(in_box systemctl is-active foliod.socket foliod.service | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... and removes the config" "absent" "$(in_box sh -c 'test -e /etc/foliod/foliod.toml && echo present || echo absent')"
