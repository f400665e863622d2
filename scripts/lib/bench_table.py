"""Prints the markdown table of a bench run: loadgen JSON results in TMP,
ratios to the first (echo) run, the service's RSS and its cache hit rate
(from the /metrics text saved as TMP/metrics.txt).

usage: bench_table.py TMP TITLE IDLE_RSS_KIB FINAL_RSS_KIB RUN_NAME...
"""
import json
import os
import sys

tmp, title, idle_rss, final_rss, *names = sys.argv[1:]


def load(name):
    try:
        with open(os.path.join(tmp, name + ".json")) as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None


runs = [(n, load(n)) for n in names]
echo = runs[0][1]
echo_rps = echo["ok_rps"] if echo else 0
print(f"\n### {title} ({os.cpu_count()} cores; loadgen, echo server and services share them)\n")
print("| method | concurrency | req/s | p50 ms | p99 ms | errors | ratio to echo | RSS MiB after |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, r in runs:
    if r is None:
        print(f"| {name} | | failed | | | | | |")
        continue
    errors = sum(e["count"] for e in r["errors"].values())
    ratio = f"{r['ok_rps'] / echo_rps:.2f}" if echo_rps else "n/a"
    mem = r.get("memory")
    rss = f"{mem['rss_kib'] / 1024:.1f}" if mem and not name.startswith("echo") else ""
    lat = r["latency_ms"]
    print(f"| {name} | {r['concurrency']} | {r['ok_rps']:.0f} | {lat['p50']:.2f} | {lat['p99']:.2f} | {errors} | {ratio} | {rss} |")
    for code, e in r["errors"].items():
        print(f"|   {code} | | | | | {e['count']} | e.g. {e['sample'][:60]} | |")
print(f"\nservice RSS: {int(idle_rss) / 1024:.1f} MiB idle after start, {int(final_rss) / 1024:.1f} MiB after the runs")
hits = misses = 0.0
try:
    for line in open(os.path.join(tmp, "metrics.txt")):
        if line.startswith("cache_requests_total"):
            value = float(line.rsplit(" ", 1)[1])
            if 'result="hit"' in line:
                hits += value
            elif 'result="miss"' in line:
                misses += value
except OSError:
    pass
if hits + misses:
    print(f"cache hit rate over the whole run: {100 * hits / (hits + misses):.2f} % ({hits:.0f} hits, {misses:.0f} misses)")
