#!/usr/bin/env python3
"""dns_responder.py ADDRESS PORT NAME IPV4 READY_FILE: a tiny authoritative DNS server for tests.

Answers A queries for NAME with IPV4, other types for NAME with no data, anything else NXDOMAIN.
Every query's name is appended to READY_FILE + ".log". Writes READY_FILE once it listens."""
import socket
import struct
import sys

address, port, name, ipv4, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3].lower().rstrip("."), sys.argv[4], sys.argv[5]


def parse_question(packet):
    labels, i = [], 12
    while packet[i] != 0:
        length = packet[i]
        labels.append(packet[i + 1:i + 1 + length].decode("ascii", "replace"))
        i += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[i + 1:i + 5])
    return ".".join(labels).lower(), qtype, qclass, packet[12:i + 5]


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, port))
open(ready, "w").close()
while True:
    packet, peer = sock.recvfrom(4096)
    if len(packet) < 17:
        continue
    try:
        qname, qtype, qclass, question = parse_question(packet)
    except (IndexError, struct.error):
        continue
    with open(ready + ".log", "a") as log:
        log.write(f"{qname} {qtype}\n")
    (query_id, flags) = struct.unpack("!HH", packet[:4])
    answers = b""
    rcode = 0
    if qname != name:
        rcode = 3  # NXDOMAIN
    elif qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ipv4)
    reply_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode  # QR AA RD RA
    header = struct.pack("!HHHHHH", query_id, reply_flags, 1, 1 if answers else 0, 0, 0)
    sock.sendto(header + question + answers, peer)
