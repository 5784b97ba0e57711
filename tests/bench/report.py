#!/usr/bin/env python3
"""tests/bench/report.py OUT_DIR MARKDOWN JSON — the benchmark report of tests/bench/run.

Reads the JSON line each bench printed (OUT_DIR/NAME.txt), pairs every figure of ctim with
its baseline, and writes the tables (figure, ctim, baseline, ratio, machine) as Markdown and
everything as JSON.  Ratio is ctim / baseline; each figure says whether higher or lower is
better.  The raw output of every bench follows the tables.
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

UP, DOWN = "higher", "lower"

#  Every bench tests/bench/run runs, by the name of its output file.
BENCHES = ("csta_codec", "pbxsim", "node_pbx_w1", "node_pbx_w32", "node_pbx_4000", "node_mux",
           "node_e2e", "ctim_client", "ha_failover", "node_login")


def bench_json(out, name):
    """The last {"bench":...} line of OUT/NAME.txt."""
    with open(os.path.join(out, name + ".txt")) as f:
        lines = [l for l in f if l.startswith('{"bench"')]
    if not lines:
        sys.exit(f"report.py: {name}.txt has no JSON line")
    return json.loads(lines[-1])


def machine():
    """The machine the figures come from: CPU, cores, memory, kernel, compiler, load."""
    model, mem_kib = "unknown CPU", 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    short = re.sub(r"\((R|TM)\)|\bCPU\b|\bProcessor\b|@.*$|\d+-Core", "", model)
    short = re.sub(r"\s+", " ", short).strip()
    try:
        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout
        cc = cc.splitlines()[0]
    except (OSError, IndexError):
        cc = "unknown compiler"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(),
        "compiler": cc,
        "short": f"{os.cpu_count()} vCPU {short}",
    }


def git_commit():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Table:
    """One section: rows of (figure, unit, better, ctim, baseline name, baseline)."""

    def __init__(self, title, note):
        self.title, self.note, self.rows = title, note, []

    def add(self, figure, unit, better, ctim, baseline_name=None, baseline=None):
        ratio = ctim / baseline if baseline not in (None, 0) and ctim is not None else None
        self.rows.append({"figure": figure, "unit": unit, "better": better, "ctim": ctim,
                          "baseline_name": baseline_name, "baseline": baseline,
                          "ratio": ratio})


def paired(rows, via_key, ctim, base):
    """(applications, ctim's row, the baseline's row or None), by number of applications."""
    by = {(r[via_key], r["apps"]): r for r in rows}
    return [(n, r, by.get((base, n)))
            for (via, n), r in sorted(by.items(), key=lambda kv: kv[0][1]) if via == ctim]


def apps(n):
    return f"{n} application" + ("" if n == 1 else "s")


def fmt(v, unit):
    if v is None:
        return "—"
    if unit in ("ns", "us", "ms") and v < 100:
        return f"{v:.1f} {unit}"
    return f"{v:,.0f} {unit}".replace(",", " ")


def build_tables(out):
    tables = []

    c = bench_json(out, "csta_codec")
    t = Table("CSTA codec (`csta_codec_bench`)",
              "ns per APDU, one core.  The multiplexer never re-encodes what it forwards: per "
              "application it peeks at the routing keys and rewrites invoke id and monitor "
              "cross reference in the PBX's bytes.  Baseline: a full asn1c decode + encode of "
              "the same Delivered event, what forwarding through the codec would cost.")
    t.add("Delivered event forwarded to one application (peek + rewrite)", "ns", DOWN,
          c["peek_rewrite_delivered"]["ns_per_apdu"], "decode + encode",
          c["decode_delivered"]["ns_per_apdu"] + c["encode_delivered"]["ns_per_apdu"])
    for key, label in (("decode_delivered", "decode a Delivered event"),
                       ("encode_delivered", "encode a Delivered event"),
                       ("decode_make_call", "decode a MakeCall invoke"),
                       ("encode_make_call", "encode a MakeCall invoke")):
        t.add(f"{label} ({c[key]['bytes']} bytes)", "ns", DOWN, c[key]["ns_per_apdu"])
    tables.append(t)

    p = bench_json(out, "pbxsim")
    t = Table("pbxsim, the load generator (`pbxsim_bench`)",
              "What the simulated PBX sustains on one CSTA link (one thread): the ceiling of "
              "the load the other benches can offer.  No baseline: there is no real PBX in "
              "the loop.")
    t.add(f"MonitorStart per second ({p['window']} in flight)", "/s", UP,
          p["monitor_start_per_s"])
    t.add("MonitorStop per second", "/s", UP, p["monitor_stop_per_s"])
    t.add(f"events per second to monitors on {p['extensions']} extensions "
          f"(at {p['events_at_cps']} calls/s)", "/s", UP, p["events_per_s"])
    tables.append(t)

    w1, w32, d4 = (bench_json(out, n) for n in ("node_pbx_w1", "node_pbx_w32",
                                                 "node_pbx_4000"))
    t = Table("The PBX link and service (`node_pbx_bench`, against pbxsim)",
              "SnapshotDevice through `node_pbx_link` with requests pipelined (window 32) "
              "against one at a time (window 1), latency including queueing behind "
              f"{w32['requests']} requests sent at once; re-monitor: time from pbxsim dropping "
              "the link until every watched device is monitored and snapshotted again "
              f"({w32['backoff_ms'][0]}..{w32['backoff_ms'][1]} ms of reconnect back-off "
              "included).")
    t.add("SnapshotDevice requests per second", "/s", UP, w32["req_per_s"], "window 1",
          w1["req_per_s"])
    t.add(f"re-monitor {w32['remonitor_devices']} devices after a link drop", "ms", DOWN,
          w32["remonitor_ms"], "window 1", w1["remonitor_ms"])
    t.add(f"re-monitor {d4['remonitor_devices']} devices after a link drop", "ms", DOWN,
          d4["remonitor_ms"])
    tables.append(t)

    m = bench_json(out, "node_mux")
    t = Table("CSTA multiplexer fan-out (`node_mux_bench`)",
              "Events per second delivered to N applications and the latency from the PBX "
              "service handing an event over to the application reading it (closed loop, "
              f"bursts of {m['burst']}).  Baseline: one thread that encodes each event once and "
              "sends it to N loopback TCP sockets with one write per socket and event, no "
              "other CSTA work; ctimd writes once per application per loop turn, which is "
              "how it can beat it.")
    for n, r, raw in paired(m["runs"], "fanout", "ctimd", "raw-tcp"):
        t.add(f"events/s to {apps(n)}", "/s", UP, r["events_per_s"], "raw TCP",
              raw and raw["events_per_s"])
        t.add(f"p99 latency, {apps(n)}", "us", DOWN, r["p99_us"], "raw TCP",
              raw and raw["p99_us"])
    tables.append(t)

    e = bench_json(out, "node_e2e")
    t = Table("ctimd end to end (`node_e2e_bench`: pbxsim + ctimd + applications)",
              f"Each application monitors the same {e['devices_per_app']} extensions while "
              f"pbxsim places calls for {e['traffic_s']} s; rates are at the offered load, not "
              "ctimd's ceiling.  Latency: from writing `dial A B` to pbxsim's control socket "
              "to each application reading the Delivered event.  Baseline: the same "
              "applications on pbxsim directly (up to 100: its listen backlog).")
    for n, f, d in paired(e["fanout"], "via", "ctimd", "pbxsim"):
        t.add(f"events delivered/s, {apps(n)} ({f['cps']} calls/s)", "/s", UP,
              f["events_per_s"], "pbxsim direct", d and d["events_per_s"])
        t.add(f"p50 latency, {apps(n)}", "us", DOWN, f["p50_us"], "pbxsim direct",
              d and d["p50_us"])
        t.add(f"p99 latency, {apps(n)}", "us", DOWN, f["p99_us"], "pbxsim direct",
              d and d["p99_us"])
        t.add(f"ctimd CPU, {apps(n)}", "%", DOWN, f["ctimd_cpu_pct"])
    rtt = {r["via"]: r for r in e["snapshot_rtt"]}
    t.add("SnapshotDevice round trip p50, one in flight", "us", DOWN, rtt["ctimd"]["p50_us"],
          "pbxsim direct", rtt["pbxsim"]["p50_us"])
    t.add("SnapshotDevice round trip p99, one in flight", "us", DOWN, rtt["ctimd"]["p99_us"],
          "pbxsim direct", rtt["pbxsim"]["p99_us"])
    for r in e["ctimd_rss_kib_by_devices"]:
        t.add(f"ctimd VmRSS, one application monitoring {r['devices']} devices", "KiB", DOWN,
              r["rss_kib"])
    tables.append(t)

    l = bench_json(out, "ctim_client")
    rtt = l["rtt_us"]
    t = Table("libctim end to end (`ctim_client_bench`: pbxsim + ctimd + library clients)",
              "Request round trip through the library, one in flight: `list_lines` is answered "
              "by the node, `get_address_status` asks the PBX (GetForwarding + "
              "GetDoNotDisturb).  Baseline: one GetForwarding straight to pbxsim.  Events: "
              "N clients in one process, each with 10 of 100 extensions open, while pbxsim "
              "places calls (rates are the offered load).  Failover: 100 clients with 10 lines "
              "each on the list \"A,B\"; the node holding the one PBX link is killed; times "
              "from the kill.")
    t.add("list_lines round trip p50", "us", DOWN, rtt["list_lines_p50"])
    t.add("list_lines round trip p99", "us", DOWN, rtt["list_lines_p99"])
    t.add("get_address_status round trip p50", "us", DOWN, rtt["address_status_p50"],
          "GetForwarding to pbxsim", rtt["direct_get_forwarding_p50"])
    t.add("get_address_status round trip p99", "us", DOWN, rtt["address_status_p99"],
          "GetForwarding to pbxsim", rtt["direct_get_forwarding_p99"])
    for f in l["fanout"]:
        t.add(f"call events delivered/s to {f['clients']} library clients "
              f"(lost: {f['lost']})", "/s", UP, f["events_per_s"])
    for f in l["failover"]:
        hb = f["heartbeat_ms"]
        t.add(f"heartbeat {hb} ms: kill to lines out of service (max)", "ms", DOWN,
              f["down_max_ms"])
        t.add(f"heartbeat {hb} ms: kill to every line back in service, p50", "ms", DOWN,
              f["up_p50_ms"])
        t.add(f"heartbeat {hb} ms: kill to every line back in service, max", "ms", DOWN,
              f["up_max_ms"])
    tables.append(t)

    h = bench_json(out, "ha_failover")
    unclustered = next((f for f in l["failover"] if f["heartbeat_ms"] == h["app_heartbeat_ms"]),
                       None)
    t = Table("Failover of a cluster pair (`ha_failover_bench`: pbxsim + 2 ctimd + libctim)",
              f"pbxsim takes one link; ctimd a holds it, b stands by (cluster heartbeat "
              f"{h['heartbeat_ms']} ms, lost after {h['lost_after']}); {h['apps']} library "
              f"clients (heartbeat {h['app_heartbeat_ms']} ms, list \"a,b\") share the "
              f"monitored devices while pbxsim places {h['cps']} calls/s; a is killed (kill "
              "-9); times from the kill.  Baseline for 1000 devices: the same clients on two "
              "nodes without a cluster (`ctim_client_bench`): the survivor connects as soon as "
              "the PBX frees the link instead of declaring its peer lost first; in both the "
              "clients' own detection (two heartbeats) sets the pace.  Calls placed in the gap "
              "are the events the applications missed (each re-opened line gets a snapshot of "
              "its calls); libctim counts lost events by sequence only across a resume.")
    for r in h["runs"]:
        d = f"{r['devices']} devices"
        t.add(f"{d}: loss detected by the standby", "ms", DOWN, r["detect_ms"])
        t.add(f"{d}: link up on the standby", "ms", DOWN, r["link_up_ms"])
        t.add(f"{d}: all monitors restored at pbxsim", "ms", DOWN, r["monitors_ms"])
        base = unclustered if r["devices"] == 1000 else None
        t.add(f"{d}: all applications in service", "ms", DOWN, r["up_max_ms"],
              base and "no cluster", base and base["up_max_ms"])
        t.add(f"{d}: calls placed during the gap (events missed)", "calls", DOWN,
              r["placed_in_gap"])
        #  After a resume on another node the node can only bound the gap (the application's
        #  last sequence is not in Hello): an upper bound, not a count.
        t.add(f"{d}: events libctim was told may be lost (upper bound after a resume "
              "elsewhere)", "events", DOWN, r["events_lost"])
    tables.append(t)

    g = bench_json(out, "node_login")
    t = Table("First logins at once (`node_login_bench`: the client API front end in-process)",
              f"{g['logins']} applications say Hello at once, each a user of its own, so each "
              "login runs PBKDF2-SHA256 (100 000 iterations).  Longest turn: the longest time "
              "the node's event loop served nothing else (a 1 ms timer's longest gap).  "
              "Baseline: the checks on the loop, as before node_verifier.")
    t.add("longest turn of the event loop", "ms", DOWN, g["worker"]["longest_turn_ms"],
          "on the loop", g["loop"]["longest_turn_ms"])
    t.add("until every application has its Welcome", "ms", DOWN, g["worker"]["all_in_ms"],
          "on the loop", g["loop"]["all_in_ms"])
    tables.append(t)
    return tables


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, md_path, json_path = sys.argv[1:]
    tables = build_tables(out)
    mach = machine()
    with open(os.path.join(out, "loadavg.before")) as f:
        mach["loadavg_before"] = " ".join(f.read().split()[:3])
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = git_commit()

    md = ["# ctim benchmarks", "",
          f"Written by `tests/bench/run` on {when} at commit {commit}: every benchmark in "
          "`tests/bench/` with its baseline, from a Release build without sanitizers "
          "(`build-bench/`).  Ratio = ctim / baseline; the unit column says whether higher "
          "(↑) or lower (↓) is better.  Each bench's header in `tests/bench/` says how it "
          "measures; the raw output of this run is at the end.", "",
          f"**Machine**: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, "
          f"Linux {mach['kernel']}, {mach['compiler']}; load average before the run "
          f"{mach['loadavg_before']}.  Programs and load generators share these cores, so "
          "the figures are conservative and vary between runs by 10–30 %.", ""]
    for t in tables:
        md += [f"## {t.title}", "", t.note, "",
               "| figure | ctim | baseline | ratio | machine |", "| --- | --- | --- | --- | --- |"]
        for r in t.rows:
            arrow = "↑" if r["better"] == UP else "↓"
            base = (f"{fmt(r['baseline'], r['unit'])} ({r['baseline_name']})"
                    if r["baseline"] is not None else "—")
            ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
            md.append(f"| {r['figure']} {arrow} | {fmt(r['ctim'], r['unit'])} | {base} | "
                      f"{ratio} | {mach['short']} |")
        md.append("")
    md += ["## Raw output", ""]
    for name in BENCHES:
        with open(os.path.join(out, name + ".txt")) as f:
            text = "".join(l for l in f if not l.startswith('{"bench"')).rstrip()
        md += [f"<details><summary>{name}</summary>", "", "```", text, "```", "",
               "</details>", ""]
    with open(md_path, "w") as f:
        f.write("\n".join(md).rstrip() + "\n")

    doc = {"generated": when, "commit": commit, "machine": mach,
           "tables": [{"title": t.title, "rows": t.rows} for t in tables],
           "raw": {n: bench_json(out, n) for n in BENCHES}}
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"report.py: wrote {md_path} and {json_path}")


if __name__ == "__main__":
    main()
