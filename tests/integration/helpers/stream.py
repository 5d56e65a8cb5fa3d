#!/usr/bin/env python3
"""stream.py: move N bytes over one TCP connection and print "BYTES SHA256" of what was moved.

  stream.py send HOST PORT NBYTES         connect (retrying up to 10 s), send, half-close
  stream.py recv HOST PORT                connect (retrying up to 10 s), read until EOF
  stream.py listen-recv ADDR PORT READY   listen, touch READY, accept one, read until EOF
  stream.py listen-send ADDR PORT NBYTES READY

The data are 1 MiB blocks of one random block, each stamped with its index, so a lost,
duplicated or reordered block changes the checksum as surely as a flipped bit does."""
import hashlib
import os
import socket
import struct
import sys
import time

BLOCK = 1 << 20


def connect(host, port):
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection((host, port), timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def listen(address, port, ready):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(1)
    server.settimeout(60)
    open(ready, "w").close()
    conn, _ = server.accept()
    conn.settimeout(60)
    server.close()
    return conn


def send(conn, nbytes):
    base = bytearray(os.urandom(BLOCK))
    digest, sent, index = hashlib.sha256(), 0, 0
    while sent < nbytes:
        struct.pack_into("!Q", base, 0, index)
        chunk = memoryview(base)[: min(BLOCK, nbytes - sent)]
        conn.sendall(chunk)
        digest.update(chunk)
        sent += len(chunk)
        index += 1
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(4096):  # wait for the peer to finish reading
        pass
    return sent, digest.hexdigest()


def recv(conn):
    buffer = bytearray(BLOCK)
    digest, received = hashlib.sha256(), 0
    while True:
        n = conn.recv_into(buffer)
        if n == 0:
            break
        digest.update(memoryview(buffer)[:n])
        received += n
    conn.close()
    return received, digest.hexdigest()


def main(argv):
    mode = argv[1]
    if mode == "send":
        result = send(connect(argv[2], int(argv[3])), int(argv[4]))
    elif mode == "recv":
        result = recv(connect(argv[2], int(argv[3])))
    elif mode == "listen-recv":
        result = recv(listen(argv[2], int(argv[3]), argv[4]))
    elif mode == "listen-send":
        conn = listen(argv[2], int(argv[3]), argv[5])
        result = send(conn, int(argv[4]))
        conn.close()
    else:
        sys.exit("unknown mode " + mode)
    print(result[0], result[1])


main(sys.argv)
