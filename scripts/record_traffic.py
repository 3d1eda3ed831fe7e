#!/usr/bin/env python3
"""scripts/record_traffic.py: fuzz seeds from real protocol traffic.

Usage: record_traffic.py WEFTD CLIENT_CMD OUT_DIR

Starts WEFTD (a weftd binary) on a private Unix socket, puts a recording
proxy in front of it, and runs CLIENT_CMD (a shell command; {addr} is
replaced by the proxy's address, e.g. "weft-conformance {addr}") against the
proxy. Every connection's bytes, in each direction, are cut into whole frames
(4-byte big-endian length, then the Frame) and written to OUT_DIR as seeds
for fuzz/frame_fuzz: one byte that chooses frame_fuzz's read size, then up to
about 4 KiB of consecutive frames as they crossed the wire. So the fuzzers
start from what weft's own stub, tools and server really send, not only from
the samples fuzz/make_seeds builds by hand.

Prints how many connections, frames and seeds it recorded. Exits 1 if it
recorded nothing (the client could not talk to weftd through the proxy).
"""
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

MAX_SEED = 4000


def pump(src, dst, log):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            log.append(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def frames(stream):
    """The whole frames of a byte stream, each with its length prefix."""
    out, at = [], 0
    while at + 4 <= len(stream):
        n = int.from_bytes(stream[at:at + 4], "big")
        if n == 0 or at + 4 + n > len(stream):
            break
        out.append(stream[at:at + 4 + n])
        at += 4 + n
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    weftd, client_cmd, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="weft-record-")
    server_sock = os.path.join(tmp, "weftd.sock")
    proxy_sock = os.path.join(tmp, "proxy.sock")
    server = subprocess.Popen([weftd, "--quiet", "--listen", "unix:" + server_sock])
    try:
        for _ in range(500):
            if os.path.exists(server_sock):
                break
            time.sleep(0.01)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(proxy_sock)
        listener.listen(64)
        streams, threads = [], []

        def accept_loop():
            while True:
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    upstream.connect(server_sock)
                except OSError:
                    client.close()
                    continue
                up, down = [], []
                streams.extend([up, down])
                for args in ((client, upstream, up), (upstream, client, down)):
                    t = threading.Thread(target=pump, args=args, daemon=True)
                    t.start()
                    threads.append(t)

        threading.Thread(target=accept_loop, daemon=True).start()
        cmd = client_cmd.replace("{addr}", shlex.quote("unix:" + proxy_sock))
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        listener.close()
        for t in threads:
            t.join(timeout=5)
    finally:
        server.kill()
        server.wait()
        for p in (server_sock, proxy_sock):
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(tmp)

    nframes = seeds = 0
    for i, chunks in enumerate(streams):
        fs = frames(b"".join(chunks))
        nframes += len(fs)
        seed = b""
        for f in fs + [None]:
            if f is None or (seed and len(seed) + len(f) > MAX_SEED):
                if seed:
                    step = bytes([(seeds * 7) % 64])
                    with open(os.path.join(out_dir, "recorded-%04d" % seeds), "wb") as out:
                        out.write(step + seed)
                    seeds += 1
                seed = b""
            if f is not None:
                seed += f
    print("record_traffic: %d connections, %d frames, %d seeds in %s" % (len(streams) // 2, nframes, seeds, out_dir))
    sys.exit(0 if seeds else 1)


if __name__ == "__main__":
    main()
