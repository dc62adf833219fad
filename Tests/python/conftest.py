"""A real foliod for the Python tests: $FOLIOD (default .build/debug/foliod), two 64 MiB
tiers, its own socket and knob mount in a temporary directory; and the fake daemon of
Tests/fakes/fake_foliod.py, one scenario at a time."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FAKE = REPO / "Tests" / "fakes" / "fake_foliod.py"
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


@pytest.fixture
def fake():
    """fake(SCENARIO): the socket of a fake daemon serving SCENARIO, stopped (and checked to
    exit 0, so a crash of the fake fails the test) when the test ends. Its directory is a
    short one of its own: pytest's tmp_path can pass the 108 bytes a socket path may have."""
    work, started = tempfile.mkdtemp(prefix="fake-foliod-"), []

    def start(scenario):
        socket = os.path.join(work, f"{len(started)}.sock")
        process = subprocess.Popen([sys.executable, str(FAKE), socket, scenario], stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline() == "ready\n", f"the fake did not start on {scenario}"
        return socket

    yield start
    for process in started:
        process.terminate()
        assert process.wait(10) == 0, "the fake daemon crashed"
        process.stdout.close()
    shutil.rmtree(work)
