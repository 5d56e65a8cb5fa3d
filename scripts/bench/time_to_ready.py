#!/usr/bin/env python3
"""time_to_ready.py [--line TEXT] [--timeout S] -- COMMAND...: seconds from starting COMMAND
until it is ready, then stop it (SIGTERM) and wait for it.

Ready is READY=1 on a NOTIFY_SOCKET this script listens on (what systemd would see), or, with
--line, TEXT appearing in the command's output. Prints "READY_SECONDS STOP_SECONDS"."""
import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("--line")
p.add_argument("--timeout", type=float, default=120)
p.add_argument("command", nargs=argparse.REMAINDER)
a = p.parse_args()
cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command

tmp = tempfile.mkdtemp(prefix="usernode-ready.")
env = dict(os.environ)
notify = None
if not a.line:
    path = os.path.join(tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(path)
    env["NOTIFY_SOCKET"] = path

start = time.monotonic()
proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
ready = None
buf = b""
watch = [proc.stdout] + ([notify] if notify else [])
while ready is None and time.monotonic() - start < a.timeout:
    r, _, _ = select.select(watch, [], [], 0.5)
    for f in r:
        if f is notify:
            if b"READY=1" in notify.recv(4096).split(b"\n"):
                ready = time.monotonic() - start
        else:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                watch.remove(proc.stdout)
                if proc.poll() is not None:
                    sys.exit(f"time_to_ready: {cmd[0]} exited ({proc.returncode}) before it was ready:\n"
                             + buf[-2000:].decode(errors="replace"))
            buf += chunk
            if a.line and a.line.encode() in buf:
                ready = time.monotonic() - start
if ready is None:
    proc.kill()
    sys.exit(f"time_to_ready: not ready within {a.timeout}s:\n" + buf[-2000:].decode(errors="replace"))

stop_start = time.monotonic()
proc.send_signal(signal.SIGTERM)
try:
    proc.communicate(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    proc.communicate()
print(f"{ready:.3f} {time.monotonic() - stop_start:.3f}")
