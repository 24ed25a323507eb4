#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 whose link the tests can break.

    relay.py LISTEN_PORT_FILE TARGET_PORT

Listens on a free port of 127.0.0.1 (written to LISTEN_PORT_FILE once it
accepts) and forwards every connection to 127.0.0.1:TARGET_PORT.
  SIGUSR1  drops every open connection at once, as a broken link does
  SIGUSR2  toggles the link: while down, new connections are cut at once
"""
import os
import signal
import socket
import sys
import threading

port_file, target_port = sys.argv[1], int(sys.argv[2])
# Reentrant: the handlers run in the main thread between any two steps,
# and a drop that comes while the toggle's drop holds the lock (the tests
# send both at once) would wait for itself, and the relay accept no more.
lock = threading.RLock()
conns = set()
link_up = True


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        return
    with lock:
        conns.add(client)
        conns.add(upstream)
    threads = [threading.Thread(target=pump, args=(client, upstream), daemon=True),
               threading.Thread(target=pump, args=(upstream, client), daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lock:
        conns.discard(client)
        conns.discard(upstream)
    client.close()
    upstream.close()


def drop(signum, frame):
    with lock:
        for s in list(conns):
            try:
                # RST rather than FIN: the far end sees a broken link.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def toggle(signum, frame):
    global link_up
    link_up = not link_up
    if not link_up:
        drop(signum, frame)


signal.signal(signal.SIGUSR1, drop)
signal.signal(signal.SIGUSR2, toggle)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
# A signal may be delivered to any thread, but Python runs its handler in
# the main thread only when that runs: never block it for long.
listener.settimeout(0.1)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    try:
        client, _ = listener.accept()
    except (InterruptedError, socket.timeout):
        continue
    client.settimeout(None)
    if not link_up:
        client.close()
        continue
    threading.Thread(target=serve, args=(client,), daemon=True).start()
