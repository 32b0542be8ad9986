#!/usr/bin/env python3
"""A paced stream of new UDP flows, started by @xdp-lb/bench inside a lab host's namespace.

Sends Ethernet/IPv4/UDP frames out of one interface with an AF_PACKET socket, each from a new
source (address in --src-net, port 1024-65535 by a counter): every frame is the first packet of a
new flow. About --rate frames per second, in bursts of --burst, until killed (or --count frames).
Prints {"event": "ready"} when the socket is bound and {"sent": N} at the end.
"""
import argparse
import json
import signal
import socket
import struct
import sys
import time


def mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def csum(data: bytes) -> int:
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--iface", default="eth0")
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, default=5000)
    p.add_argument("--src-net", default="198.19.0.0", help="a /16: source addresses are taken from it")
    p.add_argument("--start", type=int, default=0, help="first flow index (distinct runs use distinct ranges)")
    p.add_argument("--rate", type=float, default=20000.0)
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--count", type=int, default=0, help="stop after this many frames (0: until killed)")
    a = p.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    eth = mac(a.dst_mac) + mac(a.src_mac) + b"\x08\x00"
    net = struct.unpack("!I", socket.inet_aton(a.src_net))[0] & 0xFFFF0000
    dst = socket.inet_aton(a.dst)
    payload = b"xdp-lb-bench"
    sent = 0
    stop = False

    def on_term(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    print(json.dumps({"event": "ready"}), flush=True)
    gap = a.burst / a.rate
    nxt = time.perf_counter()
    i = a.start
    while not stop and (a.count == 0 or sent < a.count):
        for _ in range(a.burst):
            src = struct.pack("!I", net | ((i // 64512) & 0xFFFF))
            sport = 1024 + i % 64512
            udp_len = 8 + len(payload)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            udp = struct.pack("!HHHH", sport, a.dport, udp_len, 0)
            s.send(eth + ip + udp + payload)
            sent += 1
            i += 1
        nxt += gap
        delay = nxt - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.1:
            nxt = time.perf_counter()  # fell behind: do not burst to catch up
    print(json.dumps({"sent": sent}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
