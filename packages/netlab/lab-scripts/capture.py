#!/usr/bin/env python3
"""Lab packet capture, started by @xdp-lb/netlab inside a host's network namespace.

Reads frames from one interface with an AF_PACKET socket (no tcpdump needed) and prints one JSON
line per frame: {"t": epoch seconds, "dir": "in"|"out", "hex": "..."}. The kernel strips a VLAN
tag into metadata before packet sockets see the frame; it is put back from PACKET_AUXDATA so the
bytes are what was on the wire. Prints {"event": "ready"} once the socket is bound.
"""
import argparse
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
AUX = struct.Struct("=IIIHHHH")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--iface", default="eth0")
    p.add_argument("--count", type=int, default=0, help="stop after this many frames (0: until killed)")
    p.add_argument("--direction", choices=["in", "out", "both"], default="both")
    p.add_argument("--snaplen", type=int, default=65535)
    a = p.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((a.iface, 0))
    print(json.dumps({"event": "ready", "iface": a.iface}), flush=True)

    seen = 0
    while a.count == 0 or seen < a.count:
        data, anc, _flags, addr = s.recvmsg(a.snaplen, socket.CMSG_SPACE(AUX.size))
        direction = "out" if addr[2] == PACKET_OUTGOING else "in"
        if a.direction != "both" and direction != a.direction:
            continue
        for level, kind, cdata in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(cdata) >= AUX.size:
                status, _len, _snap, _mac, _net, tci, tpid = AUX.unpack_from(cdata)
                if status & TP_STATUS_VLAN_VALID:
                    tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                    data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        print(json.dumps({"t": time.time(), "dir": direction, "hex": data.hex()}), flush=True)
        seen += 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
