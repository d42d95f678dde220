#!/usr/bin/env python3
"""Portcullis benchmark suite: Portcullis and the oidc-provider peer side by side, and the
physical limits of the work, measured in one run. `benches/run` builds and installs what
this needs and calls it; see docs/benchmarks.md for the method and the latest results."""

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import anonymous, load, report  # noqa: E402
from lib.procs import Server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery staple bench"
REDIRECT = "http://127.0.0.1:5999/cb"
P_PORT, PEER_PORT, BARE_PORT = 5300, 5100, 5200
P_BASE, PEER_BASE, BARE_BASE = (f"http://127.0.0.1:{p}" for p in (P_PORT, PEER_PORT, BARE_PORT))
PEER_SECRET = "bench-secret-0123456789abcdef0123456789"
ALGS = ("ES256", "RS256", "EdDSA")


class Suite:
    def __init__(self, args):
        self.args = args
        # Servers run in a scratch directory: every path they get must be absolute.
        args.target_dir, args.out = os.path.abspath(args.target_dir), os.path.abspath(args.out)
        self.bin = os.path.join(args.target_dir, "portcullis")
        self.bench = os.path.join(args.target_dir, "portcullis-bench")
        self.work = tempfile.mkdtemp(prefix="portcullis-bench-")
        self.data = os.path.join(self.work, "data")
        self.logs = os.path.join(args.out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.rows = {}      # scenario id -> {"portcullis": result, "peer": result}
        self.limits = {}
        self.scale = {}
        self.startup = {}
        self.imported = {}
        self.anonymous = {}
        self.secret = None

    # --- servers -------------------------------------------------------------------------
    def p_env(self, alg="ES256"):
        env = {
            "PORTCULLIS_BIND": f"127.0.0.1:{P_PORT}",
            "PORTCULLIS_ISSUER": P_BASE,
            "PORTCULLIS_DATA_DIR": self.data,
            "PORTCULLIS_ACCESS_TOKEN_ALG": alg,
            "PORTCULLIS_LOG": "warn",
            "PORTCULLIS_LOG_FORMAT": "json",
            # Login scenarios send thousands of failures from one address on purpose.
            "PORTCULLIS_LOGIN_IP_MAX_FAILURES": "1000000000",
            # ... and to the same names: without this a name locks after 5 and answers 429
            # unchecked, so the wrong-password rows would measure refusals, not argon2.
            "PORTCULLIS_LOGIN_FREE_FAILURES": "1000000000",
        }
        if self.args.postgres:
            env["DATABASE_URL"] = self.args.postgres
        return env

    def db_url(self):
        return self.args.postgres or f"sqlite://{self.data}/portcullis.db?mode=rwc"

    def portcullis(self, alg="ES256", tag="portcullis", cores="0"):
        return Server("portcullis", [self.bin, "serve"], f"{P_BASE}/health/ready", env=self.p_env(alg),
                      cwd=self.work, log=os.path.join(self.logs, f"{tag}.log"), cores=cores)

    def peer(self, alg="ES256", cores="0"):
        env = {"PEER_PORT": str(PEER_PORT), "PEER_ACCESS_TOKEN_ALG": alg, "PEER_USERS": str(self.args.users),
               "NODE_ENV": "production"}
        return Server("peer", ["node", "server.mjs"], f"{PEER_BASE}/.well-known/openid-configuration", env=env,
                      cwd=os.path.join(ROOT, "benches", "peer"), log=os.path.join(self.logs, "peer.log"), cores=cores)

    def bare(self, alg):
        return Server("bare", [self.bench, "bare", "--bind", f"127.0.0.1:{BARE_PORT}", "--alg", alg],
                      f"{BARE_BASE}/bare", log=os.path.join(self.logs, "bare.log"))

    def cli(self, *argv, stdin=None):
        out = subprocess.run([self.bin, *argv], input=stdin, capture_output=True, text=True, cwd=self.work,
                             env={**os.environ, **self.p_env()})
        if out.returncode != 0:
            raise RuntimeError(f"portcullis {' '.join(argv)} failed:\n{out.stderr}")
        return out.stdout

    def prepare_portcullis(self):
        if self.args.postgres:
            subprocess.run(["psql", self.args.postgres, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                           check=True, capture_output=True)
        # Fresh and warm start times, before anything else exists.
        with self.portcullis(tag="portcullis-first-start") as s:
            self.startup["first_start_ms"] = s.ready_ms
        with self.portcullis(tag="portcullis-warm-start") as s:
            self.startup["warm_start_ms"] = s.ready_ms
            self.startup["idle_rss_mib"] = s.idle_rss_mib
        self.cli("user", "add", "--username", "bench-user", "--email", "bench@example.test", "--verified",
                 stdin=PASSWORD + "\n")
        self.cli("client", "add", "--id", "bench-public", "--public", "--redirect-uri", REDIRECT)
        # The same client registering ES256 ID tokens, and one taking no ID token on refresh.
        self.cli("client", "add", "--id", "bench-public-es256", "--public", "--redirect-uri", REDIRECT,
                 "--id-token-alg", "ES256")
        self.cli("client", "add", "--id", "bench-public-lean", "--public", "--redirect-uri", REDIRECT,
                 "--id-token-alg", "ES256", "--no-refresh-id-token")
        out = self.cli("client", "add", "--id", "bench-confidential", "--redirect-uri", REDIRECT,
                       "--grant", "authorization_code,refresh_token,client_credentials",
                       "--scope", "openid,profile,email,offline_access,api:read")
        self.secret = next(l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("client_secret: "))
        self.seed(self.args.users)

    def seed(self, count):
        subprocess.run([self.bench, "seed", "--database-url", self.db_url(), "--count", str(count)], check=True)

    # --- scenarios -----------------------------------------------------------------------
    def flow_args(self, who, client="bench-public"):
        """Flows sign in as the seeded accounts in turn (bench-1… here, bench-user-1… on the peer)."""
        prefix, count = ("bench-", self.args.users) if who == "portcullis" else ("bench-user-", self.args.users - 1)
        return ["--client-id", client, "--username", prefix, "--users", str(count), "--password", PASSWORD,
                "--redirect-uri", REDIRECT, "--scope", "openid profile email offline_access"]

    def login(self, who, server, base, password, known=True, concurrency=8):
        """JSON logins rotating over the seeded accounts, or over names that match none."""
        prefix, count = ("bench-", self.args.users) if who == "portcullis" else ("bench-user-", self.args.users - 1)
        if not known:
            prefix = "nobody-"
        path = "/login" if who == "portcullis" else "/bench/login"
        expect = "200" if known and password == PASSWORD else "401"
        args = ["--client-id", "unused", "--username", prefix, "--users", str(count), "--password", password,
                "--login-path", path, "--expect-status", expect]
        return load.drive(self.bench, server, "login", base, args, self.args.duration, concurrency=concurrency)

    def cc_body(self, server):
        secret = self.secret if server == "portcullis" else PEER_SECRET
        basic = base64.b64encode(f"bench-confidential:{secret}".encode()).decode()
        return ["application/x-www-form-urlencoded", "grant_type=client_credentials&scope=api%3Aread", f"Basic {basic}"]

    def record(self, sid, who, result):
        self.rows.setdefault(sid, {})[who] = result
        rps, cpu = result.get("rps"), result.get("cpu_us_per_op")
        errors = result.get("errors", 0)
        print(f"  {sid:<22} {who:<10} {rps:>9.1f}/s  p50 {result.get('p50_ms') or 0:>8.2f} ms  "
              f"p99 {result.get('p99_ms') or 0:>8.2f} ms  cpu {cpu or 0:>9.1f} µs/op  "
              f"rss {result.get('peak_rss_mib', 0):>6.1f} MiB  errors {errors}", flush=True)

    def run_common(self, who, server, base):
        d = self.args.duration
        self.record("discovery", who, load.wrk(server, f"{base}/.well-known/openid-configuration", d))
        jwks = "/jwks.json" if who == "portcullis" else "/jwks"
        self.record("jwks", who, load.wrk(server, f"{base}{jwks}", d))
        self.record("cc_ES256", who, load.wrk(server, f"{base}/token", d, script="post.lua",
                                              script_args=self.cc_body(who)))
        self.record("refresh", who, load.drive(self.bench, server, "refresh", base, self.flow_args(who), d))
        self.record("refresh_es256", who, load.drive(self.bench, server, "refresh", base,
                                                     self.flow_args(who, "bench-public-es256"), d))
        if who == "portcullis":  # the peer has no per-client switch for the refresh's ID token
            self.record("refresh_lean", who, load.drive(self.bench, server, "refresh", base,
                                                        self.flow_args(who, "bench-public-lean"), d))
        self.record("login", who, self.login(who, server, base, PASSWORD))
        # Interleaved twice each, so a slow patch of the machine cannot fall on one of the pair.
        wrong, unknown = [], []
        for _ in range(2):
            wrong.append(self.login(who, server, base, "wrong password"))
            unknown.append(self.login(who, server, base, PASSWORD, known=False))
        self.record("login_wrong_password", who, load.combine(wrong))
        self.record("login_unknown_user", who, load.combine(unknown))
        self.record("login_64", who, self.login(who, server, base, PASSWORD, concurrency=64))
        self.record("code_flow", who, load.drive(self.bench, server, "flow", base, self.flow_args(who), d))
        tokens = load.token(self.bench, base, self.flow_args(who))
        userinfo = "/userinfo" if who == "portcullis" else "/me"
        self.record("userinfo", who, load.wrk(server, f"{base}{userinfo}", d, script="bearer.lua",
                                              script_args=[tokens["access_token"]]))

    def run_alg(self, who, server, base, alg):
        self.record(f"cc_{alg}", who, load.wrk(server, f"{base}/token", self.args.duration, script="post.lua",
                                               script_args=self.cc_body(who)))

    def run_limits(self):
        out = subprocess.run(["taskset", "-c", "0", self.bench, "limits",
                              "--verifies", "6" if self.args.smoke else "30",
                              "--sign-seconds", "0.3" if self.args.smoke else "1.5"],
                             capture_output=True, text=True, check=True)
        self.limits = json.loads(out.stdout)
        d = self.args.duration
        for alg in ALGS:
            with self.bare(alg) as s:
                if alg == "ES256":
                    self.limits["bare"] = load.wrk(s, f"{BARE_BASE}/bare", d)
                self.limits[f"floor_{alg}"] = load.wrk(s, f"{BARE_BASE}/token", d, script="post.lua",
                                                       script_args=["application/x-www-form-urlencoded", "x=1"])
        print(f"  limits: argon2 verify {self.limits['argon2_verify_ms']:.2f} ms, sign "
              + ", ".join(f"{a} {self.limits['sign_us'][a]:.1f} µs" for a in ALGS)
              + f", bare {self.limits['bare']['cpu_us_per_op']:.1f} µs/req, sign-only floor "
              + ", ".join(f"{a} {self.limits['floor_' + a]['cpu_us_per_op']:.1f} µs/req" for a in ALGS), flush=True)

    def run_scale(self):
        """Login and token cost with the seeded 1k users, then with --scale-users."""
        d = self.args.duration
        for label, count in (("small", self.args.users), ("large", self.args.scale_users)):
            if label == "large":
                self.seed(count)
            with self.portcullis(tag=f"portcullis-{label}") as s:
                self.scale[label] = {
                    "users": count,
                    "login": self.login("portcullis", s, P_BASE, PASSWORD),
                    "refresh": load.drive(self.bench, s, "refresh", P_BASE, self.flow_args("portcullis"), d),
                }
                print(f"  scale {count:>8} users: login p50 {self.scale[label]['login']['p50_ms']:.2f} ms, "
                      f"refresh p50 {self.scale[label]['refresh']['p50_ms']:.2f} ms", flush=True)

    def run_import(self):
        """`portcullis user import` of --import-users accounts (JSON lines) into a database of their
        own, timed end to end, its progress lines passed through. The file reuses 8 real
        Werkzeug PBKDF2 hashes made here with hashlib (hashing 100k lines would time Python)."""
        count = self.args.import_users
        hashes = []
        for i in range(8):
            salt = f"benchsalt{i:02d}"
            digest = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt.encode(), 1000).hex()
            hashes.append(f"pbkdf2:sha256:1000${salt}${digest}")
        path = os.path.join(self.work, "import.jsonl")
        with open(path, "w") as f:
            for i in range(count):
                f.write(json.dumps({"username": f"imported-{i}", "email": f"imported-{i}@example.test",
                                    "email_verified": True, "display_name": f"Imported {i}",
                                    "password_hash": hashes[i % len(hashes)]}) + "\n")
        env = {**os.environ, **self.p_env()}
        if not self.args.postgres:
            env["PORTCULLIS_DATA_DIR"] = os.path.join(self.work, "import-data")
        every = max(count // 10, 1)
        t0 = time.time()
        proc = subprocess.Popen([self.bin, "user", "import", "--progress-every", str(every), path], cwd=self.work,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            print(f"  {line.rstrip()}  [{time.time() - t0:.1f} s]", flush=True)
        summary = proc.stdout.read().strip()
        if proc.wait() != 0:
            raise RuntimeError(f"portcullis user import failed: {summary}")
        wall = time.time() - t0
        self.imported = {"users": count, "wall_s": wall, "lines_per_s": count / wall, "summary": summary}
        print(f"  import {count:,} users: {wall:.1f} s ({count / wall:,.0f} lines/s); {summary}", flush=True)

    def run(self):
        t0 = time.time()
        print("== physical limits", flush=True)
        self.run_limits()
        print("== Portcullis setup", flush=True)
        self.prepare_portcullis()
        print("== scenarios (server on core 0, load on core 1)", flush=True)
        with self.portcullis() as p:
            self.run_common("portcullis", p, P_BASE)
        with self.peer() as n:
            self.run_common("peer", n, PEER_BASE)
        for alg in ALGS[1:]:
            with self.portcullis(alg) as p:
                self.run_alg("portcullis", p, P_BASE, alg)
            with self.peer(alg) as n:
                self.run_alg("peer", n, PEER_BASE, alg)
        total = 2_000 if self.args.smoke else 10_000
        print(f"== anonymous forms: {total:,} cookie-less GET /login and /register", flush=True)
        with self.portcullis(tag="portcullis-anonymous") as p:
            self.anonymous = anonymous.run(p, P_PORT, self.db_url(), total)
        print("== refresh with the server on both cores", flush=True)
        with self.portcullis(tag="portcullis-2cores", cores="0,1") as p:
            self.record("refresh_2cores", "portcullis", load.drive(self.bench, p, "refresh", P_BASE,
                                                                   self.flow_args("portcullis"), self.args.duration))
            self.record("refresh_2cores_es256", "portcullis", load.drive(
                self.bench, p, "refresh", P_BASE, self.flow_args("portcullis", "bench-public-es256"), self.args.duration))
        with self.peer(cores="0,1") as n:
            self.record("refresh_2cores", "peer", load.drive(self.bench, n, "refresh", PEER_BASE,
                                                             self.flow_args("peer"), self.args.duration))
            self.record("refresh_2cores_es256", "peer", load.drive(
                self.bench, n, "refresh", PEER_BASE, self.flow_args("peer", "bench-public-es256"), self.args.duration))
        print(f"== database size: {self.args.users} vs {self.args.scale_users} users", flush=True)
        self.run_scale()
        print(f"== user import: {self.args.import_users:,} users", flush=True)
        self.run_import()
        results = {
            "machine": report.machine(),
            "settings": {"duration_s": self.args.duration, "users": self.args.users,
                         "scale_users": self.args.scale_users, "import_users": self.args.import_users, "database": "postgres" if self.args.postgres else "sqlite",
                         "smoke": self.args.smoke},
            "limits": self.limits, "startup": self.startup, "rows": self.rows, "scale": self.scale,
            "import": self.imported,
            "anonymous_forms": self.anonymous,
            "wall_s": time.time() - t0,
        }
        with open(os.path.join(self.args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        md = report.markdown(results)
        with open(os.path.join(self.args.out, "results.md"), "w") as f:
            f.write(md)
        if self.args.smoke:
            print("== smoke run: debug build, 2 s per scenario; the figures below only show the suite works")
        print(report.targets_text(results))
        return results


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target-dir", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    ap.add_argument("--users", type=int, default=1000, help="users seeded for every scenario")
    ap.add_argument("--scale-users", type=int, default=1_000_000, help="users for the database-size comparison")
    ap.add_argument("--import-users", type=int, default=100_000, help="accounts in the `user import` benchmark")
    ap.add_argument("--postgres", help="run Portcullis on this PostgreSQL URL (its public schema is reset)")
    ap.add_argument("--smoke", action="store_true", help="short runs for CI: checks the suite works, no claims")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for tool in ("wrk", "taskset", "node"):
        if not shutil.which(tool):
            sys.exit(f"benches: {tool} is not installed (benches/run installs it)")
    suite = Suite(args)
    try:
        results = suite.run()
    finally:
        shutil.rmtree(suite.work, ignore_errors=True)
    # Targets are reported, never asserted; a failed request is not a figure, it is a bug.
    failed = failures(results)
    if failed:
        sys.exit("benches: requests failed (wrong status or socket error), so the figures above are not valid:\n"
                 + "\n".join(f"  {where}: {n} errors" for where, n in failed))


def failures(results):
    """(scenario, errors) for every measurement that saw a failed request."""
    found = []
    for sid, by_server in results["rows"].items():
        found += [(f"{sid} ({who})", r["errors"]) for who, r in by_server.items() if r.get("errors")]
    for label, scale in results["scale"].items():
        found += [(f"scale {label} {k}", r["errors"]) for k, r in scale.items() if isinstance(r, dict) and r.get("errors")]
    if results.get("anonymous_forms", {}).get("errors"):
        found.append(("anonymous forms", results["anonymous_forms"]["errors"]))
    lim = results["limits"]
    found += [(f"limits {k}", r["errors"]) for k, r in lim.items() if isinstance(r, dict) and r.get("errors")]
    return found


if __name__ == "__main__":
    main()
