"""The load generators: wrk for stateless requests, portcullis-bench for stateful flows.
Both run pinned to the load core; each measurement brackets the server's CPU time."""

import json
import os
import re
import subprocess

from .procs import LOAD_CORE

LUA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lua")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    """Requests, rate, latency percentiles and failures from wrk's --latency report."""
    result = {"non_2xx": 0, "socket_errors": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    result["requests"] = int(m.group(1))
    result["seconds"] = _ms(m.group(2) + m.group(3)) / 1000
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[key] = _ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        result["non_2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        result["socket_errors"] = sum(int(g) for g in m.groups())
    result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    return result


def wrk(server, url, duration, connections=8, script=None, script_args=(), env=None):
    """Runs wrk against a server and returns its figures plus the server's CPU per request."""
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", os.path.join(LUA_DIR, script)]
    cmd.append(url)
    if script_args:
        cmd += ["--"] + list(script_args)
    server.reset_peak()
    before = server.cpu()
    run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stdout}{run.stderr}")
    out = run.stdout
    cpu = server.cpu() - before
    result = parse_wrk(out)
    result["errors"] = result["non_2xx"] + result["socket_errors"]
    result["server_cpu_s"] = cpu
    result["cpu_us_per_op"] = cpu / result["requests"] * 1e6 if result["requests"] else None
    result["peak_rss_mib"] = server.peak_rss_mib()
    return result


def drive(bench_bin, server, scenario, base, flow_args, duration, concurrency=8):
    """Runs a stateful scenario with portcullis-bench (it reads the server's CPU itself)."""
    cmd = ["taskset", "-c", LOAD_CORE, bench_bin, "drive", scenario, "--base", base,
           "--duration", str(duration), "--concurrency", str(concurrency), "--pid", str(server.pid)]
    cmd += flow_args
    server.reset_peak()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"drive {scenario} against {base} failed:\n{out.stderr}")
    result = json.loads(out.stdout)
    result["requests"] = result["operations"]
    result["cpu_us_per_op"] = result["server_cpu_s"] / result["operations"] * 1e6
    result["peak_rss_mib"] = server.peak_rss_mib()
    return result


def token(bench_bin, base, flow_args):
    out = subprocess.run([bench_bin, "token", "--base", base] + flow_args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"could not get tokens from {base}:\n{out.stderr}")
    return json.loads(out.stdout)


def combine(runs):
    """Several runs of one scenario as one: totals for counts and rates, the mean of the
    percentiles (each run's own distribution is not kept), the highest peak RSS."""
    ops = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    return {
        "requests": ops, "seconds": seconds, "rps": ops / seconds, "server_cpu_s": cpu,
        "cpu_us_per_op": cpu / ops * 1e6,
        "errors": sum(r.get("errors", 0) for r in runs),
        "p50_ms": sum(r["p50_ms"] for r in runs) / len(runs),
        "p99_ms": sum(r["p99_ms"] for r in runs) / len(runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "runs": len(runs),
    }
