#!/usr/bin/env python3
"""Watches a server while it holds streams, for scenario 3 of `make bench`.

    sample.py SECONDS UPSTREAM_PORT PID...

For SECONDS it samples, every quarter second, the resident memory of the
given processes and all their descendants (a server with workers counts
whole) and how many TCP connections to UPSTREAM_PORT are established, that is
how many streams are being held. Prints one line:

    peak_rss_kb  mean_cpu_percent  max_streams

mean_cpu_percent is the processes' CPU time over the window (user + system,
children included while they live) divided by the wall time, in percent of
one core. Reads /proc only.
"""
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def tree(roots):
    """The roots and every process descending from them."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    # The command name may hold spaces: fields start after ')'.
                    fields = f.read().rsplit(")", 1)[1].split()
                parent[int(entry)] = int(fields[1])
            except (OSError, IndexError):
                pass  # gone since listdir
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in found or pid not in parent:
            continue
        found.add(pid)
        todo.extend(p for p, pp in parent.items() if pp == pid)
    return found


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime, stime (fields 14 and 15 of stat; 12 and 13 after the name)
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError):
        return 0


def streams(port):
    """Established TCP connections whose remote end is PORT, v4 and v6."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    # rem_address is HEXADDR:HEXPORT; state 01 is ESTABLISHED.
                    if cols[3] == "01" and int(cols[2].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n


def main():
    seconds, port = float(sys.argv[1]), int(sys.argv[2])
    roots = [int(p) for p in sys.argv[3:]]
    # CPU time of every process seen, last value read: a worker that exits
    # mid-window keeps what it used.
    first, last = {}, {}
    peak, most = 0, 0
    start = time.monotonic()
    while True:
        pids = tree(roots)
        peak = max(peak, sum(rss_kb(p) for p in pids))
        most = max(most, streams(port))
        for p in pids:
            t = cpu_ticks(p)
            first.setdefault(p, t)
            last[p] = t
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        time.sleep(0.25)
    used = sum(last[p] - first[p] for p in last) / TICK
    print(peak, round(100 * used / elapsed, 1) if elapsed > 0 else 0, most)


if __name__ == "__main__":
    main()
