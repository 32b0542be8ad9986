#!/usr/bin/env python3
"""Lab frame injection, started by @xdp-lb/netlab inside a host's network namespace.

Reads frames as hex, one per line, from stdin and sends each unchanged out of one interface with
an AF_PACKET socket: crafted or malformed packets go over a real veth, through whatever XDP
program sits on the other side. Prints {"sent": N} at the end.
"""
import argparse
import json
import socket
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--iface", default="eth0")
    a = p.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    sent = 0
    for line in sys.stdin:
        line = line.strip()
        if line:
            s.send(bytes.fromhex(line))
            sent += 1
    print(json.dumps({"sent": sent}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
