#!/usr/bin/env python3
"""Many idle keep-alive HTTP connections through a VIP, for the conntrack-pressure lab test.

Run inside a client's network namespace. Opens --conns connections to --dst:--dport (in batches),
sends GET /info on each (the lab backend answers with its name and the peer address/port it sees:
the SNAT address:port in nat), waits --idle seconds, then sends a second GET /info on every
connection at once and classifies each outcome within --timeout seconds:
  ok     - answered by the same backend connection (same name and peer port as the first answer)
  moved  - answered, but by another backend connection (the LB re-tracked the flow elsewhere)
  reset  - the connection was reset or closed (ECONNRESET, EOF)
  hung   - no answer and no reset within --timeout
  bad    - bytes that are not an HTTP answer of the lab backend (a misdelivery)
Everything is bounded: connects and both rounds have timeouts. Prints one JSON object (with
setup_failed: connections that could not be opened and answered once).
"""
import argparse
import asyncio
import json


async def request(reader, writer, timeout):
    writer.write(b"GET /info HTTP/1.1\r\nHost: lab\r\n\r\n")
    await asyncio.wait_for(writer.drain(), timeout)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise ValueError("not a 200: %r" % lines[0])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await asyncio.wait_for(reader.readexactly(length), timeout)
    info = json.loads(body)
    return (info["name"], info["remotePort"])


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, default=80)
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--idle", type=float, default=3)
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()

    conns = []
    for start in range(0, a.conns, a.batch):
        async def one():
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(a.dst, a.dport), a.timeout)
                first = await request(r, w, a.timeout)
                return (r, w, first)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, KeyError):
                return None
        conns += await asyncio.gather(*[one() for _ in range(start, min(start + a.batch, a.conns))])
    setup_failed = sum(1 for c in conns if c is None)
    conns = [c for c in conns if c is not None]

    await asyncio.sleep(a.idle)

    async def again(c):
        r, w, first = c
        try:
            got = await request(r, w, a.timeout)
            return "ok" if got == first else "moved"
        except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError, ConnectionAbortedError):
            return "reset"
        except asyncio.TimeoutError:
            return "hung"
        except (ValueError, KeyError, UnicodeDecodeError, asyncio.LimitOverrunError):
            return "bad"

    results = await asyncio.gather(*[again(c) for c in conns])
    for _, w, _ in conns:
        w.close()
    out = {k: results.count(k) for k in ("ok", "moved", "reset", "hung", "bad")}
    out["conns"] = len(conns)
    out["setup_failed"] = setup_failed
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
