#!/usr/bin/env python3
"""notify_listener.py SOCKET OUT: receive sd_notify datagrams on SOCKET, one line per assignment
into OUT (flushed at once), as systemd would receive them from a Type=notify service."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a") as f:
    while True:
        data = s.recv(65536)
        for line in data.decode(errors="replace").split("\n"):
            if line:
                f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
