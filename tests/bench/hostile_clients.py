#!/usr/bin/env python3
"""Holds N hostile HTTP connections open against 127.0.0.1:PORT until SIGTERM/SIGINT.

Used by serving_bench.sh. A third of the connections are idle (connect, send nothing), a third
send half a request head and stop, a third trickle a head one byte every --trickle seconds.
Sources are spread over --sources loopback addresses (127.0.0.2 ...), as a crowd of clients
would be, so a per-address limit does not simply refuse them. A connection the server closes is
opened again, so N stay open; on exit one line says how many were reopened.
"""
import argparse
import errno
import selectors
import signal
import socket
import sys
import time

HEAD = b"GET /metrics HTTP/1.1\r\nHost: bench\r\nUser-Agent: slow\r\nX-Pad: " + b"a" * 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--trickle", type=float, default=2.0)
    args = parser.parse_args()

    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    selector = selectors.DefaultSelector()
    slots = [None] * args.count  # per slot: [socket, kind, bytes sent, next send time]
    reopened = 0
    failed = 0

    def open_slot(i):
        nonlocal failed
        kind = i % 3  # 0 idle, 1 half head, 2 trickle
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.%d" % (2 + i % args.sources), 0))
        try:
            sock.connect(("127.0.0.1", args.port))
        except OSError:
            sock.close()
            failed += 1
            slots[i] = None
            return
        sock.setblocking(False)
        sent = 0
        if kind == 1:
            half = HEAD[: len(HEAD) // 2]
            try:
                sent = sock.send(half)
            except OSError:
                pass
        slots[i] = [sock, kind, sent, time.monotonic() + args.trickle]
        selector.register(sock, selectors.EVENT_READ, i)

    def close_slot(i):
        sock = slots[i][0]
        selector.unregister(sock)
        sock.close()
        slots[i] = None

    for i in range(args.count):
        open_slot(i)
    print("hostile: %d connections open" % sum(s is not None for s in slots), flush=True)

    while not stop:
        for key, _ in selector.select(timeout=0.2):
            i = key.data
            try:
                data = slots[i][0].recv(65536)
            except OSError as e:
                data = b"" if e.errno != errno.EAGAIN else None
            if data is None:
                continue
            # Any answer or a close: start over on a new connection, so N stay open.
            close_slot(i)
            open_slot(i)
            reopened += 1
        now = time.monotonic()
        for i, slot in enumerate(slots):
            if slot is None:
                open_slot(i)
                continue
            sock, kind, sent, due = slot
            if kind == 2 and now >= due and sent < len(HEAD):
                try:
                    slot[2] += sock.send(HEAD[sent : sent + 1])
                except OSError:
                    pass
                slot[3] = now + args.trickle
    for i in range(args.count):
        if slots[i] is not None:
            close_slot(i)
    print("hostile: reopened=%d connect_failures=%d" % (reopened, failed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
