#!/usr/bin/env python3
"""A bounded SYN flood for the lab tests, run inside a client's network namespace.

Sends --count TCP SYNs to --dst:--dport out of --iface with an AF_PACKET socket, each from its own
(source address, source port): SYN number n = i + --offset comes from --src-net (a /16, e.g. 198.19)
.(n >> 8 & 255).(n & 255) and port 1024 + (n * 7919) % 64000, so that every SYN is a new flow for the
load balancer, and floods with different offsets are different flows. Checksums are computed here.
Paced (a short pause every --burst frames) so that the veth rings ahead of XDP do not overflow; a
frame the interface's queue refuses (ENOBUFS) is skipped after a 1 ms pause.
--seconds S: stop after S seconds instead (or after --count, whichever comes first; the duration is
always bounded). Prints {"sent": N, "ms": T} at the end.
"""
import argparse
import errno
import json
import socket
import struct
import time


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--iface", default="eth0")
    p.add_argument("--smac", required=True)
    p.add_argument("--dmac", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, default=80)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--src-net", default="198.19")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--burst", type=int, default=64)
    p.add_argument("--pause-us", type=int, default=300)
    p.add_argument("--seconds", type=float, default=0)
    a = p.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    eth = mac(a.dmac) + mac(a.smac) + b"\x08\x00"
    dst = socket.inet_aton(a.dst)
    t0 = time.monotonic()
    sent = 0
    deadline = t0 + a.seconds if a.seconds > 0 else None
    count = a.count if deadline is None else max(a.count, 1 << 30)
    for i in range(count):
        if deadline is not None and (i & 255) == 0 and time.monotonic() >= deadline:
            break
        n = i + a.offset
        src = socket.inet_aton("%s.%d.%d" % (a.src_net, (n >> 8) & 0xFF, (n & 0xFF) or 1))
        sport = 1024 + (n * 7919) % 64000
        tcp = struct.pack("!HHIIBBHHH", sport, a.dport, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        try:
            s.send(eth + ip + tcp)
        except OSError as e:  # the interface's queue is full (ENOBUFS): back off, drop this one
            if e.errno != errno.ENOBUFS:
                raise
            time.sleep(0.001)
            continue
        sent += 1
        if a.burst and sent % a.burst == 0:
            time.sleep(a.pause_us / 1e6)
    print(json.dumps({"sent": sent, "ms": round((time.monotonic() - t0) * 1000)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
