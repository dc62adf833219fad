#!/usr/bin/env python3
"""The part of a service manager foliod's restart needs, for a guest without systemd: a
notify socket with an fd store (FDSTORE=1 / FDSTOREREMOVE=1 with FDNAME=), and a supervisor
that starts the command again whenever it exits, passing what was stored as LISTEN_FDS,
LISTEN_FDNAMES and LISTEN_PID (sd_listen_fds_with_names reads them so).

    fdstore.py STATE_DIR COMMAND...

STATE_DIR/notify is the socket (NOTIFY_SOCKET), STATE_DIR/ready holds "PID" once that
instance sent READY=1, STATE_DIR/stored lists the stored names, one a line. SIGTERM ends the
command (SIGTERM, then SIGKILL after 30 s) and the supervisor."""
import array
import os
import select
import signal
import socket
import sys
import time

state, command = sys.argv[1], sys.argv[2:]
path = os.path.join(state, "notify")
if os.path.exists(path):
    os.unlink(path)
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(path)
stored = []  # (name, fd), in the order they came
child = None
stopping = False


def write(name, text):
    with open(os.path.join(state, name + ".tmp"), "w") as out:
        out.write(text)
    os.replace(os.path.join(state, name + ".tmp"), os.path.join(state, name))


def start():
    global child
    try:
        os.unlink(os.path.join(state, "ready"))
    except FileNotFoundError:
        pass
    fds = [fd for _, fd in stored]
    names = ":".join(name for name, _ in stored)
    pid = os.fork()
    if pid == 0:
        # Out of the way of 3.. first, then down to 3.. in order.
        high = [os.dup(fd) for fd in fds]
        for index, fd in enumerate(high):
            os.dup2(fd, 3 + index, inheritable=True)
        os.closerange(3 + len(high), 65536)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        if fds:
            env.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names)
        os.execvpe(command[0], command, env)
    child = pid


def receive():
    data, ancillary, _, _ = notify.recvmsg(65536, socket.CMSG_SPACE(253 * 4))
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
    if fields.get("FDSTORE") == "1":
        stored.extend((fields.get("FDNAME", "stored"), fd) for fd in fds)
        fds = []
    elif fields.get("FDSTOREREMOVE") == "1":
        for name, fd in [entry for entry in stored if entry[0] == fields.get("FDNAME")]:
            os.close(fd)
            stored.remove((name, fd))
    for fd in fds:
        os.close(fd)
    if fields.get("READY") == "1" and child is not None:
        write("ready", f"{child}\n")
    write("stored", "".join(name + "\n" for name, _ in stored))


def on_term(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
start()
while True:
    readable, _, _ = select.select([notify], [], [], 0.05)
    if readable:
        receive()
    pid, status = os.waitpid(child, os.WNOHANG)
    if pid == child:
        with open(os.path.join(state, "exits"), "a") as out:
            out.write(f"{pid} {os.waitstatus_to_exitcode(status)}\n")
        # Whatever it sent before it exited is read before the next one starts.
        while select.select([notify], [], [], 0)[0]:
            receive()
        if stopping:
            break
        start()
    elif stopping:
        os.kill(child, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.waitpid(child, os.WNOHANG)[0] != child:
            if time.monotonic() > deadline:
                os.kill(child, signal.SIGKILL)
            time.sleep(0.05)
        break
