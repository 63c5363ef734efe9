#!/usr/bin/env bash
# Runs a command with no network but loopback, so no test can reach the
# internet (and a client that tries fails loudly instead of phoning home).
# Uses a network namespace: as root directly, otherwise inside a user namespace.
set -euo pipefail
for flags in "-n" "-rn"; do
  if unshare $flags true 2>/dev/null; then
    # 192.0.2.1 (TEST-NET-1) plays another machine on the network for the
    # tests of LAN access.
    exec unshare $flags bash -c 'ip link set lo up && ip addr add 192.0.2.1/32 dev lo && exec "$@"' _ "$@"
  fi
done
echo "offline.sh: cannot create a network namespace here; running with the network" >&2
exec "$@"
