#!/usr/bin/env python3
"""Paced DNS probe and helpers for Benchmarks/overload/run.sh (issue 14).

probe HOST PORT NAME RATE SECONDS     paced UDP A queries; prints answered, lost, p50/p99/max ms,
                                      and p50/p99 by the reply's arrival at the socket
blackhole PORT                        a UDP upstream that reads and never answers (until killed)
tcp-hold HOST PORT N SECONDS          opens N TCP connections at once, holds them; prints how many
                                      the server kept open (not closed by it) after 1 s
"""
import random, socket, struct, sys, time

# Linux's SO_TIMESTAMPNS (and SCM_TIMESTAMPNS, its control message): Python does not name it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def probe(host, port, name, rate, seconds):
    """Each reply is timed twice from its query's send: when this process reads it, and when the
    kernel queued it on the socket (SO_TIMESTAMPNS). The second leaves out the probe's own wait
    to be scheduled once its reply is there, which on a two-core machine, sharing a CPU with the
    load generator, is part of what the first measures."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.settimeout(1.0)
    times, at_socket, lost = [], [], 0
    interval = 1.0 / rate
    end = time.monotonic() + seconds
    nxt = time.monotonic()
    while time.monotonic() < end:
        qid = random.randrange(65536)
        start_wall = time.time()
        start = time.monotonic()
        s.sendto(query(name, qid), (host, port))
        while True:
            try:
                data, ancillary, _, _ = s.recvmsg(4096, 64)
            except socket.timeout:
                lost += 1
                break
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == qid:
                times.append((time.monotonic() - start) * 1000)
                for level, kind, value in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", value[:16])
                        at_socket.append(max(0.0, (sec + nsec / 1e9 - start_wall) * 1000))
                break
        nxt += interval
        time.sleep(max(0, nxt - time.monotonic()))

    def q(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")
    print(f"answered {len(times)} lost {lost} p50 {q(times, 0.5):.2f} ms p99 {q(times, 0.99):.2f} ms"
          f" max {q(times, 1.0):.2f} ms; at the socket p50 {q(at_socket, 0.5):.2f} ms p99 {q(at_socket, 0.99):.2f} ms")


def blackhole(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        s.recv(4096)


def tcp_hold(host, port, n, seconds):
    socks = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((host, port))
        socks.append(c)
    time.sleep(1.0)
    open_ = 0
    for c in socks:
        try:
            data = c.recv(1)
            if data == b"":
                continue  # closed by the server
            open_ += 1
        except BlockingIOError:
            open_ += 1  # still open, nothing to read
        except OSError:
            pass
    print(f"opened {n} held-open-after-1s {open_}")
    time.sleep(max(0, seconds - 1))
    for c in socks:
        c.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "probe":
        probe(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
    elif cmd == "blackhole":
        blackhole(int(sys.argv[2]))
    elif cmd == "tcp-hold":
        tcp_hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
