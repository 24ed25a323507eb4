#!/usr/bin/env python3
"""Measure linkem's accuracy: round trip, rate, window cap, shared rate.

    bench/linkem-check.py PATH-TO-LINKEM

Runs linkem in front of a local sink/echo server and prints, for each
property, what was asked and what was measured.
"""
import os, socket, subprocess, sys, tempfile, threading, time

linkem = sys.argv[1]

def server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    def handle(c):
        mode = c.recv(1)
        if mode == b"e":          # echo one byte at a time: round trips
            while True:
                b = c.recv(1)
                if not b:
                    break
                c.sendall(b)
        else:                     # sink: count, then answer the count
            n = 0
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                n += len(b)
            c.sendall(str(n).encode())
        c.close()
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]

def start(port, *args):
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "port")
    p = subprocess.Popen([linkem, "--to", str(port), "--port-file", pf] + list(args))
    for _ in range(100):
        if os.path.exists(pf) and open(pf).read().strip():
            return p, int(open(pf).read())
        time.sleep(0.02)
    raise SystemExit("linkem did not start")

def rtt(port, n=20):
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.sendall(b"e")
    times = []
    for _ in range(n):
        t = time.monotonic()
        c.sendall(b"x")
        c.recv(1)
        times.append(time.monotonic() - t)
    c.close()
    times.sort()
    return times[len(times) // 2]

def send(port, nbytes, out, i):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"s")
    buf = b"\0" * (1 << 16)
    t = time.monotonic()
    left = nbytes
    while left > 0:
        k = min(left, len(buf))
        c.sendall(buf[:k])
        left -= k
    c.shutdown(socket.SHUT_WR)
    got = int(c.recv(64))
    out[i] = (got, time.monotonic() - t)
    c.close()

def throughput(port, nbytes, streams=1):
    out = [None] * streams
    th = [threading.Thread(target=send, args=(port, nbytes, out, i)) for i in range(streams)]
    t = time.monotonic()
    for x in th: x.start()
    for x in th: x.join()
    total = time.monotonic() - t
    assert all(o[0] == nbytes for o in out), out
    return streams * nbytes / total

sink = server()
rows = []
p, port = start(sink, "--delay-ms", "25")
rows.append(("round trip, delay 25 ms", "50 ms", "%.1f ms" % (rtt(port) * 1000)))
p.kill()
p, port = start(sink, "--delay-ms", "25", "--rate-mbit", "100")
r = throughput(port, 48 << 20)
rows.append(("one stream, 100 Mbit/s, RTT 50 ms", "12.5 MB/s", "%.2f MB/s (%.0f%%)" % (r / 1e6, r / 12.5e4)))
r = throughput(port, 16 << 20, streams=4)
rows.append(("4 streams share 100 Mbit/s", "12.5 MB/s", "%.2f MB/s (%.0f%%)" % (r / 1e6, r / 12.5e4)))
p.kill()
p, port = start(sink, "--delay-ms", "40", "--rate-mbit", "400", "--window-kib", "2048")
want = 2048 * 1024 / 0.080
r = throughput(port, 64 << 20)
rows.append(("window 2 MiB, RTT 80 ms, 400 Mbit/s", "%.1f MB/s" % (want / 1e6),
             "%.2f MB/s (%.0f%%)" % (r / 1e6, 100 * r / want)))
r = throughput(port, 64 << 20, streams=4)
want4 = min(4 * want, 50e6)
rows.append(("4 such streams", "%.1f MB/s" % (want4 / 1e6), "%.2f MB/s (%.0f%%)" % (r / 1e6, 100 * r / want4)))
p.kill()
w = max(len(r[0]) for r in rows)
for name, asked, got in rows:
    print("%-*s  asked %-10s measured %s" % (w, name, asked, got))
