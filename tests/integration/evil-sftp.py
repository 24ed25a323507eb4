# A hostile sftp-server (version 3) for cleanup.sh: every path is a
# directory, except the partial directories, which are not there; a
# directory's listing never ends (READDIR never says EOF).
#   evil-sftp.py match   2000 fresh regular files named like rsync's
#                        temporary of "big" per READDIR, as fast as it can
#   evil-sftp.py slow    100 other names per READDIR, 50 ms apart
# Anything else (REMOVE, RMDIR, MKDIR, CLOSE) is answered OK.
import struct
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "match"
inp, out = sys.stdin.buffer, sys.stdout.buffer


def read_exact(n):
    b = b""
    while len(b) < n:
        c = inp.read(n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b


def send(t, payload):
    out.write(struct.pack(">IB", len(payload) + 1, t) + payload)
    out.flush()


def s(b):
    return struct.pack(">I", len(b)) + b


def status(i, code):
    send(101, struct.pack(">II", i, code) + s(b"x") + s(b""))


counter = 0
while True:
    n, = struct.unpack(">I", read_exact(4))
    body = read_exact(n)
    t, p = body[0], body[1:]
    if t == 1:
        send(2, struct.pack(">I", 3))
        continue
    i, = struct.unpack(">I", p[:4])
    rest = p[4:]
    if t in (7, 11):   # LSTAT, OPENDIR
        l, = struct.unpack(">I", rest[:4])
        path = rest[4:4 + l]
        if b".scow-sync-partial" in path:
            status(i, 2)
        elif t == 7:
            send(105, struct.pack(">III", i, 4, 0o40755))
        else:
            send(102, struct.pack(">I", i) + s(b"h1"))
    elif t == 12:      # READDIR
        now = int(time.time())
        ents = []
        for k in range(2000 if mode == "match" else 100):
            counter += 1
            if mode == "match":
                name = b".big.%06d" % (counter % 1000000)
            else:
                name = b"other-%09d" % counter
            ents.append(s(name) + s(name) + struct.pack(">IIII", 4 | 8, 0o100644, now, now))
        send(104, struct.pack(">II", i, len(ents)) + b"".join(ents))
        if mode != "match":
            time.sleep(0.05)
    else:
        status(i, 0)
