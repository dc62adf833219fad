"""A real foliod for the Python tests: $FOLIOD (default .build/debug/foliod), two 64 MiB
tiers, its own socket and knob mount in a temporary directory."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    work = tmp_path_factory.mktemp("foliod")
    mount, socket = work / "mnt", work / "foliod.sock"
    mount.mkdir()
    config = work / "foliod.toml"
    config.write_text(
        f'[daemon]\nmount = "{mount}"\nsocket = "{socket}"\n\n'
        '[[tiers]]\nname = "fast"\nsize = "64M"\n\n[[tiers]]\nname = "slow"\nsize = "64M"\n'
    )
    binary = os.environ.get("FOLIOD", str(REPO / ".build/debug/foliod"))
    log = open(work / "foliod.log", "w")
    process = subprocess.Popen([binary, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not (mount / "migration").exists():
        assert process.poll() is None and time.monotonic() < deadline, (work / "foliod.log").read_text()
        time.sleep(0.05)
    yield type("Daemon", (), {"socket": str(socket), "mount": mount})
    process.terminate()
    process.wait(30)
    log.close()
