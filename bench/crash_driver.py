#!/usr/bin/env python3
"""The two halves of tests/crash.sh's loop, stdlib only.

  write   drives concurrent writes at a running levity until SIGTERM (the
          shell kills levity with SIGKILL first, then stops this). Every write
          levity acknowledged (2xx from the admin API, exit 0 from the CLI) is
          appended to the acks file, flushed at once.
  verify  against a freshly restarted levity: every acknowledged write of
          every iteration so far is there and intact, nothing is duplicated,
          usage never went backwards, and the proxy still serves with the
          acknowledged client keys. Prints one JSON line of counts; exits 1
          with one message per failure.

Writes (each with a unique name, so each acknowledgement can be checked on
its own):
  account  POST /api/accounts, and `levity account add gemini` (CLI)
  key      POST /api/keys, and `levity key create` (CLI)
  map      PUT /api/config model_map.<unique> = <model>, and `levity config set`
  seq      PUT /api/config oauth_client_id = crash-<n>, n rising by one per
           write from a single writer: after a crash the stored n must be the
           last acknowledged one or the one in flight, never older
  proxy    POST /v1/chat/completions (streamed and not) with a client key, so
           that request logs, usage and account health are written too
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

MODEL = "gemini-2.5-flash"


def hint(s):
    """levity's own hint of a secret (store::types::hint)."""
    return "..." if len(s) < 12 else f"{s[:3]}...{s[-4:]}"


def server(data_dir):
    with open(os.path.join(data_dir, "levity.server.json")) as f:
        info = json.load(f)
    host, port = info["url"].removeprefix("http://").rsplit(":", 1)
    return host, int(port), info["admin_token"]


class Client:
    """One keep-alive connection, reopened after any error."""

    def __init__(self, host, port, token, timeout=10):
        self.addr = (host, port)
        self.token = token
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        """(status, parsed body or raw text); raises OSError when levity is gone."""
        h = {"content-type": "application/json", "x-levity-admin-token": self.token}
        h.update(headers or {})
        if self.conn is None:
            self.conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=h)
            resp = self.conn.getresponse()
            raw = resp.read()
        except OSError:
            self.conn.close()
            self.conn = None
            raise
        except http.client.HTTPException as e:
            self.conn.close()
            self.conn = None
            raise OSError(str(e)) from e
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")


# ---------------------------------------------------------------- write


class Writer:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acks = open(args.acks, "a")
        self.host, self.port, self.token = server(args.data_dir)
        self.it = args.iteration
        self.proxy_sent = 0
        self.proxy_ok = 0
        self.env = dict(os.environ, LEVITY_HOME=args.data_dir, LEVITY_LOG="error")
        # The overwritten setting keeps rising across iterations.
        self.seq_start = 1
        with open(args.acks) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "seq_try":
                    self.seq_start = max(self.seq_start, rec["value"] + 1)

    def ack(self, **rec):
        rec["it"] = self.it
        with self.lock:
            self.acks.write(json.dumps(rec) + "\n")
            self.acks.flush()

    def client(self):
        return Client(self.host, self.port, self.token)

    def adding(self):
        """Whether to keep adding accounts, keys and settings: the long
        iterations stop after --add-ms, so that the lists (which every start
        and check reads) stay a few hundred long."""
        return not self.stop.is_set() and time.monotonic() < self.add_until

    def loop(self, body):
        """Runs one writer until told to stop; a dead levity is expected."""
        c = self.client()
        n = 0
        while self.adding():
            n += 1
            try:
                body(c, n)
            except OSError:
                time.sleep(0.01)
            # A few writes per writer per iteration are plenty; without a pause
            # the lists would grow to thousands over 100 iterations and every
            # start and check would slow down with them.
            time.sleep(random.uniform(0.02, 0.06))

    def api_account(self, c, n):
        name = f"c{self.it}-a{n}"
        key = f"AIzaCRASH-{self.it:04d}-{n:04d}-{random.getrandbits(32):08x}"
        st, body = c.call("POST", "/api/accounts", {"kind": "gemini", "api_key": key, "name": name,
                                                    "base_url": self.args.upstream, "tier": "paid"})
        if st == 201:
            self.ack(type="account", via="api", name=name, hint=hint(key), id=body["id"])

    def api_key(self, c, n):
        name = f"c{self.it}-k{n}"
        st, body = c.call("POST", "/api/keys", {"name": name})
        if st == 201:
            self.ack(type="key", via="api", name=name, key=body["key"], id=body["id"])

    def api_map(self, c, n):
        name = f"model_map.c{self.it}-m{n}"
        value = f"{MODEL}-{n}"
        st, _ = c.call("PUT", "/api/config", {"key": name, "value": value})
        if st == 200:
            self.ack(type="map", via="api", name=name, value=value)

    def seq_loop(self):
        """oauth_client_id = crash-<n>, n rising across all iterations."""
        c = self.client()
        n = self.seq_start
        while not self.stop.is_set():
            # Recorded before it is sent: the stored value may be this one.
            self.ack(type="seq_try", value=n)
            try:
                st, _ = c.call("PUT", "/api/config", {"key": "oauth_client_id", "value": f"crash-{n}"})
                if st == 200:
                    self.ack(type="seq", value=n)
                n += 1
            except OSError:
                n += 1
                time.sleep(0.005)
            time.sleep(random.uniform(0.005, 0.03))

    def cli_loop(self):
        """The same writes through the CLI, which reaches the server through
        its admin API, or opens the file itself once the server is gone."""
        n = 0
        while self.adding():
            n += 1
            kind = n % 3
            name = f"c{self.it}-cli{n}"
            if kind == 0:
                key = f"AIzaCRASHCLI-{self.it:04d}-{n:04d}-{random.getrandbits(32):08x}"
                cmd = ["account", "add", "gemini", "--api-key", key, "--name", name,
                       "--base-url", self.args.upstream, "--tier", "paid"]
            elif kind == 1:
                cmd = ["key", "create", "--name", name]
            else:
                cmd = ["config", "set", f"model_map.{name}", f"{MODEL}-cli{n}"]
            # Never killed half-way: a CLI that opened the file itself must
            # close it before the shell starts the next server.
            p = subprocess.run([self.args.bin, "--data-dir", self.args.data_dir, *cmd],
                               env=self.env, capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                continue
            if kind == 0:
                self.ack(type="account", via="cli", name=name, hint=hint(key))
            elif kind == 1:
                secret = next((w for w in p.stdout.split() if w.startswith("sk-lev-")), None)
                if secret is None:
                    self.ack(type="error", message=f"`levity key create` exited 0 without a key: {p.stdout!r}")
                else:
                    self.ack(type="key", via="cli", name=name, key=secret)
            else:
                self.ack(type="map", via="cli", name=f"model_map.{name}", value=f"{MODEL}-cli{n}")

    def proxy_loop(self, stream):
        c = self.client()
        auth = {"authorization": f"Bearer {self.args.proxy_key}"}
        n = 0
        while not self.stop.is_set():
            n += 1
            body = {"model": MODEL, "stream": stream,
                    "messages": [{"role": "user", "content": f"crash {self.it} {n} {stream}"}]}
            try:
                st, _ = c.call("POST", "/v1/chat/completions", body, auth)
                with self.lock:
                    self.proxy_sent += 1
                    self.proxy_ok += st == 200
            except ConnectionRefusedError:
                time.sleep(0.01)  # levity is gone: nothing was sent
            except OSError:
                # Cut off mid-request: levity may have counted it.
                with self.lock:
                    self.proxy_sent += 1
                time.sleep(0.01)

    def run(self):
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        self.add_until = time.monotonic() + self.args.add_ms / 1000
        threads = [threading.Thread(target=self.loop, args=(f,)) for f in (self.api_account, self.api_key, self.api_map)]
        threads += [threading.Thread(target=self.seq_loop), threading.Thread(target=self.cli_loop)]
        threads += [threading.Thread(target=self.proxy_loop, args=(s,)) for s in (False, True)]
        for t in threads:
            t.start()
        if self.args.started:
            open(self.args.started, "w").close()
        # A safety net: the shell stops us long before this.
        self.stop.wait(self.args.max_seconds)
        self.stop.set()
        for t in threads:
            t.join()
        self.ack(type="proxy", sent=self.proxy_sent, ok=self.proxy_ok)


# ---------------------------------------------------------------- verify


def verify(args):
    failures = []
    acks = []
    with open(args.acks) as f:
        for i, line in enumerate(f):
            try:
                acks.append(json.loads(line))
            except ValueError:
                failures.append(f"acks line {i + 1} is not JSON: {line!r}")
    host, port, token = server(args.data_dir)
    c = Client(host, port, token, timeout=30)

    def get(path):
        st, body = c.call("GET", path)
        if st != 200:
            raise SystemExit(f"verify: GET {path} answered {st}: {body}")
        return body

    status = get("/api/status")
    accounts = get("/api/accounts")
    keys = get("/api/keys")
    config = get("/api/config")
    stats = get("/api/stats?days=3")

    for rec in acks:
        if rec.get("type") == "error":
            failures.append(f"iteration {rec['it']}: {rec['message']}")

    # Nothing duplicated, everything readable.
    for what, items in (("account", accounts), ("client key", keys)):
        for field in ("id", "name"):
            seen = [x[field] for x in items]
            dups = sorted({v for v in seen if seen.count(v) > 1})
            if dups:
                failures.append(f"duplicate {what} {field}s: {dups[:5]}")
    if len(status["accounts"]) != len(accounts):
        failures.append(f"/api/status lists {len(status['accounts'])} accounts, /api/accounts {len(accounts)}")
    if status["client_keys"] != len(keys):
        failures.append(f"/api/status counts {status['client_keys']} client keys, /api/keys lists {len(keys)}")

    by_name = {a["name"]: a for a in accounts}
    key_by_name = {k["name"]: k for k in keys}
    acked = verified = 0
    last_it_keys = []
    for rec in acks:
        t = rec.get("type")
        if t == "account":
            acked += 1
            a = by_name.get(rec["name"])
            if a is None:
                failures.append(f"acknowledged account `{rec['name']}` (iteration {rec['it']}, {rec['via']}) is missing")
            elif (a["kind"], a["base_url"], a["key_hint"]) != ("gemini", args.upstream, rec["hint"]):
                failures.append(f"account `{rec['name']}` changed: {a['kind']} {a['base_url']} {a['key_hint']} (want {rec['hint']})")
            elif "id" in rec and a["id"] != rec["id"]:
                failures.append(f"account `{rec['name']}` has id {a['id']}, acknowledged as {rec['id']}")
            else:
                verified += 1
        elif t == "key":
            acked += 1
            k = key_by_name.get(rec["name"])
            if k is None:
                failures.append(f"acknowledged client key `{rec['name']}` (iteration {rec['it']}, {rec['via']}) is missing")
            elif k["hint"] != hint(rec["key"]) or ("id" in rec and k["id"] != rec["id"]):
                failures.append(f"client key `{rec['name']}` changed: {k}")
            else:
                verified += 1
                last_it_keys.append(rec)
        elif t == "map":
            acked += 1
            got = config.get(rec["name"])
            if got != rec["value"]:
                failures.append(f"acknowledged setting {rec['name']} = {rec['value']} (iteration {rec['it']}) reads {got!r}")
            else:
                verified += 1

    # The overwritten setting: the last acknowledged value or one sent after
    # it. Each acknowledged write of the series counts as verified when what
    # replaced it is there.
    tried = {r["value"] for r in acks if r.get("type") == "seq_try"}
    done = [r["value"] for r in acks if r.get("type") == "seq"]
    if done:
        acked += len(done)
        got = config.get("oauth_client_id", "")
        n = int(got.removeprefix("crash-")) if got.startswith("crash-") and got[6:].isdigit() else None
        if n is None or n not in tried or n < max(done):
            failures.append(f"oauth_client_id reads {got!r}; last acknowledged crash-{max(done)}, "
                            f"last sent crash-{max(tried)}")
        else:
            verified += len(done)

    # The server works: a request with a recent acknowledged key is served,
    # one with a made-up key is refused.
    mine = 0
    for rec in last_it_keys[-3:]:
        st, body = c.call("POST", "/v1/chat/completions",
                          {"model": MODEL, "messages": [{"role": "user", "content": "after restart"}]},
                          {"authorization": f"Bearer {rec['key']}"})
        mine += 1
        if st != 200:
            failures.append(f"a request with acknowledged key `{rec['name']}` answered {st}: {str(body)[:200]}")
    st, _ = c.call("POST", "/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
                   {"authorization": "Bearer sk-lev-not-a-key"})
    mine += 1
    if st != 401:
        failures.append(f"a made-up client key answered {st}, not 401")

    # Usage is saved every two seconds and on shutdown: after a crash some may
    # be lost, but what was saved never goes backwards, and never exceeds
    # what was sent (by the writers, and by earlier verifications).
    total = sum(d["requests"] for d in stats["series"])
    state = {"usage": 0, "verify_requests": 0}
    if os.path.exists(args.state):
        with open(args.state) as f:
            state = json.load(f)
    sent = sum(r.get("sent", 0) for r in acks if r.get("type") == "proxy") + state["verify_requests"]
    if total < state["usage"]:
        failures.append(f"saved usage went backwards: {total} requests, was {state['usage']}")
    if total > sent:
        failures.append(f"usage counts {total} requests, more than the {sent} sent")
    state["verify_requests"] += mine
    state["usage"] = total
    with open(args.state, "w") as f:
        json.dump(state, f)

    print(json.dumps({"acked": acked, "verified": verified, "accounts": len(accounts), "keys": len(keys),
                      "usage": total, "failures": len(failures)}))
    for msg in failures:
        print(f"verify: {msg}", file=sys.stderr)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--bin", required=True)
    w.add_argument("--data-dir", required=True)
    w.add_argument("--upstream", required=True)
    w.add_argument("--acks", required=True)
    w.add_argument("--iteration", type=int, required=True)
    w.add_argument("--proxy-key", required=True)
    w.add_argument("--started", help="touched once the writers run")
    w.add_argument("--max-seconds", type=float, default=20)
    w.add_argument("--add-ms", type=float, default=1e9, help="stop adding after this long")
    v = sub.add_parser("verify")
    v.add_argument("--data-dir", required=True)
    v.add_argument("--upstream", required=True)
    v.add_argument("--acks", required=True)
    v.add_argument("--state", required=True)
    args = ap.parse_args()
    if args.cmd == "write":
        Writer(args).run()
        return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
