#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""benchtool: the parsing and reporting half of bench/run.sh.

run.sh drives namespaces, servers, agents and load generators; everything that
reads JSON (bpftool, iperf3, the generators), computes medians and ratios, or
renders tables is here, with the standard library only.

  benchtool.py progs                 bpftool prog show -j (stdin) -> TSV:
                                     id type name run_time_ns run_cnt map_ids
  benchtool.py progdelta PRE POST IDS  per-program deltas of two `progs`
                                     snapshots for the ids in IDS (comma list)
                                     -> JSON {name: {"ns": .., "cnt": ..}}
  benchtool.py maps IDS              bpftool map show -j (stdin) -> JSON list
                                     of {id, name, type, max_entries, memlock}
  benchtool.py jget FILE KEY[.SUB]   a value from the last JSON object in FILE
                                     that has KEY (prints 0 when absent)
  benchtool.py features SPEC         the YAML lines (flow style) that turn on
                                     the optional features SPEC names ("all",
                                     "none", or names joined by "+")
  benchtool.py features-doc SPEC     one line saying what SPEC turns on
  benchtool.py features-list         every feature name, one per line
  benchtool.py report RESULTS OUT.md render results.jsonl as text tables on
                                     stdout and as markdown in OUT.md
"""
import json
import statistics
import sys


def cmd_progs():
    for p in json.load(sys.stdin):
        print(
            "\t".join(
                str(x)
                for x in (
                    p.get("id"),
                    p.get("type", "?"),
                    p.get("name", "-") or "-",
                    p.get("run_time_ns", 0),
                    p.get("run_cnt", 0),
                    ",".join(str(m) for m in p.get("map_ids", [])) or "-",
                )
            )
        )


def read_progs(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            out[parts[0]] = (parts[2], int(parts[3]), int(parts[4]))
    return out


def cmd_progdelta(pre, post, ids):
    a, b = read_progs(pre), read_progs(post)
    res = {}
    for i in [x for x in ids.split(",") if x]:
        if i not in b:
            continue
        name, ns1, cnt1 = b[i]
        _, ns0, cnt0 = a.get(i, (name, 0, 0))
        r = res.setdefault(name, {"ns": 0, "cnt": 0})
        r["ns"] += ns1 - ns0
        r["cnt"] += cnt1 - cnt0
    print(json.dumps(res, sort_keys=True))


def cmd_maps(ids):
    want = {int(x) for x in ids.split(",") if x}
    out = []
    for m in json.load(sys.stdin):
        if m.get("id") in want:
            out.append(
                {
                    "id": m.get("id"),
                    "name": m.get("name", "?"),
                    "type": m.get("type", "?"),
                    "max_entries": m.get("max_entries", 0),
                    "memlock": m.get("bytes_memlock", 0),
                }
            )
    print(json.dumps(out))


# ==== Optional features (BENCH_FEATURES) ====
# Each optional feature of the agent, as the config that turns it on (merged
# over the defaults) and what it does. "all" is every row, "none" the
# OFF config: every feature that can be switched off, off. A feature that
# lands later adds its row here, so `BENCH_FEATURES=all` measures it and
# `BENCH_FEATURES=NAME` measures it alone. The TIME_WAIT census, UDP flows
# and owners and the live refresh have no switch yet: they run in every
# armed row.
FEATURES = {
    "dns": ({"dns": {"enabled": True}}, "DNS capture (on by default)"),
    "getaddrinfo": ({"dns": {"getaddrinfo": "auto"}}, "getaddrinfo() uprobe (auto by default)"),
    "dnslog": ({"dns": {"events": "log"}}, "dns.events: log (a JSON line per query)"),
    "networks": (
        {
            "networks": [
                {"cidr": "198.18.0.0/15", "zone": "bench", "class": "lab"},
                {"cidr": "127.0.0.0/8", "zone": "loopback", "class": "local"},
                {"cidr": "10.0.0.0/8", "zone": "corp", "class": "internal"},
            ]
        },
        "networks: 3 CIDR entries (dst_zone, dst_class)",
    ),
    "labels": (
        {"attributes": {"select": {"*": {"include": ["*"]}}}},
        "attributes.select {\"*\": {include: [\"*\"]}}: every attribute of every family "
        "(src_pid, src_exe, src_container, src_unit, src_cgroup, src_address, ...)",
    ),
    "seccomp": ({"seccomp": True}, "seccomp: true (system-call allow-list)"),
}
FEATURES_OFF = ({"dns": {"enabled": False, "getaddrinfo": "off"}},
                "every switchable feature off (dns.enabled: false, dns.getaddrinfo: off)")


def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v
    return a


def feature_spec(spec):
    """(config dict, description) of SPEC: all, none or NAME+NAME."""
    if spec == "all":
        names = list(FEATURES)
    elif spec == "none":
        return merge({}, FEATURES_OFF[0]), FEATURES_OFF[1]
    else:
        names = [n for n in spec.split("+") if n]
    cfg = {}
    for n in names:
        if n not in FEATURES:
            raise SystemExit("benchtool: unknown feature '%s' (known: all, none, %s)"
                             % (n, ", ".join(FEATURES)))
        merge(cfg, json.loads(json.dumps(FEATURES[n][0])))
    return cfg, "; ".join(FEATURES[n][1] for n in names)


def cmd_features(spec):
    # JSON is YAML's flow style: one top-level key per line.
    for k, v in feature_spec(spec)[0].items():
        print("%s: %s" % (k, json.dumps(v)))


def cmd_jget(path, key):
    doc = None
    first = key.split(".")[0]
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if first in d:
                doc = d
    if doc is None:
        try:  # a whole-file document (iperf3 -J)
            with open(path) as f:
                doc = json.load(f)
        except ValueError:
            doc = {}
    v = doc
    for k in key.split("."):
        v = v.get(k, 0) if isinstance(v, dict) else 0
    print(v)


# ==== Report ====


def fmt_num(v, unit=""):
    if v is None:
        return "-"
    if unit == "Gbit/s":
        return "%.2f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def pct(r):
    return "-" if r is None else "%.1f%%" % (r * 100)


class Out:
    """Writes the same content as plain text (stdout) and markdown (file)."""

    def __init__(self, md_path):
        self.md = open(md_path, "w")

    def title(self, t, level=2):
        print("\n" + t + "\n" + ("=" if level == 1 else "-") * len(t))
        self.md.write("\n" + "#" * level + " " + t + "\n\n")

    def para(self, t):
        print(t)
        self.md.write(t + "\n\n")

    def bullets(self, items):
        for i in items:
            print("  - " + i)
            self.md.write("- " + i + "\n")
        self.md.write("\n")

    def table(self, head, rows):
        cols = len(head)
        w = [len(h) for h in head]
        for r in rows:
            for i in range(cols):
                w[i] = max(w[i], len(str(r[i])))
        line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
        print(line)
        print("  ".join("-" * w[i] for i in range(cols)))
        for r in rows:
            print("  ".join(str(r[i]).ljust(w[i]) for i in range(cols)))
        print()
        self.md.write("| " + " | ".join(head) + " |\n")
        self.md.write("|" + "|".join("---" for _ in head) + "|\n")
        for r in rows:
            self.md.write("| " + " | ".join(str(c) for c in r) + " |\n")
        self.md.write("\n")

    def close(self):
        self.md.close()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def round_ratios(by_arm, arm):
    """Per-round ratios arm/off, by round number (rounds both arms completed)."""
    off = {r["round"]: r["value"] for r in by_arm.get("off", [])}
    out = []
    for r in by_arm.get(arm, []):
        o = off.get(r["round"])
        if o:
            out.append(r["value"] / o)
    return out


def ratio_range(rr):
    if not rr:
        return "-"
    return "%.1f-%.1f%%" % (100 * min(rr), 100 * max(rr))


def verdict(ratio, target, rr=None):
    """PASS when the ratio of medians meets the target; 'MISS (within
    spread)' when it does not but at least one round's ratio did."""
    if target is None or ratio is None:
        return "-"
    if ratio >= target:
        return "PASS"
    if rr and max(rr) >= target:
        return "MISS (within spread)"
    return "MISS"


def render_scale(out, d, summary):
    out.title(d.get("title", "Scale"))
    if d.get("workload"):
        out.para(d["workload"])
    rows = []
    for item in d.get("rows", []):
        rows.append(
            [item["what"], item["value"], item.get("target", ""), item.get("result", "")]
        )
        if item.get("result") in ("PASS", "MISS"):
            summary.append(
                ["Scale: " + item["what"], "", item["value"], "", "",
                 item.get("target", ""), item["result"]]
            )
    out.table(["what", "value", "target", "result"], rows)
    if d.get("maps"):
        out.para("Kernel maps of the agent (bpftool map show, bytes_memlock):")
        out.table(
            ["map", "type", "max_entries", "memlock KiB"],
            [[m["name"], m["type"], m["max_entries"], "%.0f" % (m["memlock"] / 1024)]
             for m in d["maps"]],
        )
    for n in d.get("notes", []):
        out.para("Note: " + n)


def expand_parts(b, runs):
    """A benchmark with "parts" (the mixed workload: several generators at
    once) becomes one table per part, its runs' values taken from run["parts"];
    the kernel cost table goes with the first part only."""
    brs = [r for r in runs if r["bench"] == b["bench"]]
    if not b.get("parts"):
        return [(b, brs)]
    out = []
    for i, p in enumerate(b["parts"]):
        sub = dict(b)
        sub.update({"title": "%s: %s" % (b.get("title", b["bench"]), p["label"]),
                    "short": p["short"], "unit": p["unit"], "targets": p.get("targets", {}),
                    "no_progs": i > 0, "no_checks": i > 0,
                    "check_short": b.get("short", b["bench"])})
        if i > 0:
            sub["workload"] = ""
        sruns = []
        for r in brs:
            v = r.get("parts", {}).get(p["key"])
            if v is None:
                continue
            nr = dict(r)
            nr["value"] = v
            sruns.append(nr)
        out.append((sub, sruns))
    return out


def net_items(b, by_arm, arms):
    """One bullet per network counter of the runs (the storm's failed
    connects and TIME_WAIT): each arm's median and range over its runs."""
    items = []
    for key, label in b.get("net_labels", {}).items():
        per = []
        for a in arms:
            vals = [r.get("net", {}).get(key) for r in by_arm.get(a, [])]
            vals = [v for v in vals if v is not None]
            if vals:
                per.append("%s %.0f (%.0f-%.0f)" % (a, median(vals), min(vals), max(vals)))
        if per:
            items.append("%s, median (min-max) by arm: %s" % (label, ", ".join(per)))
    return items


def progs_table(out, b, a, ars, stats_runs, meta):
    """The kernel cost of arm a's programs: from its uncounted bpf_stats run
    when there is one, else summed over its counted runs (BENCH_BPF_STATS=1)."""
    src = [r for r in stats_runs if r["arm"] == a] or ars
    how = ("bpf_stats on for one extra, uncounted run"
           if src is not ars else "bpf_stats on during its %d counted runs" % len(ars))
    tot = {}
    work = sum(r.get("work", 0) for r in src)
    el = sum(r.get("elapsed_s", 0) for r in src)
    for r in src:
        for pn, st in r.get("progs", {}).items():
            t = tot.setdefault(pn, {"ns": 0, "cnt": 0})
            t["ns"] += st["ns"]
            t["cnt"] += st["cnt"]
    if not tot or not sum(t["ns"] for t in tot.values()):
        return
    wu = b.get("work_unit", "unit")
    prow = []
    sum_ns = 0
    for pn in sorted(tot, key=lambda k: -tot[k]["ns"]):
        t = tot[pn]
        if not t["cnt"]:
            continue
        sum_ns += t["ns"]
        prow.append([pn, t["cnt"], "%.0f" % (t["ns"] / t["cnt"]),
                     "%.2f" % (t["cnt"] / work) if work else "-",
                     "%.0f" % (t["ns"] / work) if work else "-"])
    prow.append(["total", sum(t["cnt"] for t in tot.values()), "", "",
                 "%.0f" % (sum_ns / work) if work else "-"])
    out.para(
        "Kernel cost of %s's programs (%s; %.3f%% of the machine's CPU time during it):"
        % (a, how, 100.0 * sum_ns / (el * 1e9 * meta.get("nproc", 1)) if el else 0)
    )
    out.table(["program", "runs", "ns/run", "runs/" + wu, "ns/" + wu], prow)


def render_bench(out, b, brs, extra, meta, summary):
    name = b["bench"]
    unit = b.get("unit", "")
    if not brs:
        return
    out.title(b.get("title", name))
    if b.get("workload"):
        out.para(b["workload"] + " (load average at start: %s)" % b.get("load", "?"))
    arms = b.get("arms", ["off", "gespann"])
    by_arm = {a: [r for r in brs if r["arm"] == a] for a in arms}
    off_med = median([r["value"] for r in by_arm.get("off", [])])
    rows = []
    for a in arms:
        vals = [r["value"] for r in by_arm.get(a, [])]
        med = median(vals)
        ratio = med / off_med if (a != "off" and med and off_med) else None
        rr = round_ratios(by_arm, a) if a != "off" else []
        target = b.get("targets", {}).get(a)
        v = verdict(ratio, target, rr) if a != "off" else ""
        busy = [r.get("bg_busy") for r in by_arm.get(a, []) if r.get("bg_busy") is not None]
        rows.append(
            [
                a,
                fmt_num(med, unit),
                " ".join(fmt_num(x, unit) for x in vals),
                "%d%%" % max(busy) if busy else "-",
                pct(ratio) if a != "off" else "",
                ratio_range(rr) if a != "off" else "",
                (">= %.0f%%" % (target * 100)) if target else "",
                v,
            ]
        )
        if a != "off":
            summary.append(
                [
                    b.get("short", name) + ("" if a == "gespann" else " [%s]" % a),
                    "%s %s" % (fmt_num(off_med, unit), unit),
                    "%s %s" % (fmt_num(med, unit), unit),
                    pct(ratio),
                    ratio_range(rr),
                    (">= %.0f%%" % (target * 100)) if target else "-",
                    v,
                ]
            )
    out.table(
        ["arm", "median " + unit, "runs (by round)", "busy before (max)",
         "ratio of medians", "round ratios min-max", "target", "result"],
        rows,
    )
    out.para(
        "ratio of medians: the arm's median over the off arm's. round ratios "
        "min-max: the lowest and highest of the per-round ratios (the arm's run over "
        "the off run of the same round): the spread of the ratio. busy before: the "
        "share of all CPUs other work used in the half second before each run, while "
        "the suite idled. A result is 'MISS (within spread)' when the ratio of medians "
        "misses the target but at least one round's ratio met it."
    )
    cfgs = b.get("configs", {})
    if cfgs and not b.get("no_checks"):
        out.para("Agent configs (each arm's file, written to raw/ when it started):")
        out.bullets(["%s: %s (`%s`)" % (a, c.get("what", "defaults"), c.get("file", "?"))
                     for a, c in cfgs.items() if a in arms])
    stats_runs = [d for d in extra if d.get("type") == "statsrun" and d.get("bench") == name]
    voids = [d for d in extra if d.get("type") == "void" and d.get("bench") == name]
    items = [] if b.get("no_checks") else net_items(b, by_arm, arms)
    for a in arms:
        ars = by_arm.get(a, [])
        if a == "off" or not ars or b.get("no_checks"):
            continue
        cpu = [r.get("cpu_ms") for r in ars if r.get("cpu_ms") is not None]
        sched = [r.get("sched_ms") for r in ars if r.get("sched_ms") is not None]
        el = [r.get("elapsed_s") for r in ars if r.get("elapsed_s")]
        hwm = [r.get("hwm_kb") for r in ars if r.get("hwm_kb")]
        who = "agent" if a != "tcplife" else "tcplife process"
        if cpu and el:
            items.append(
                "%s: %s CPU per run, median: utime+stime %.0f ms, schedstat %.1f ms "
                "(%.2f%% of one core); peak RSS (VmHWM) %.1f MiB"
                % (a, who, median(cpu), median(sched) if sched else 0,
                   100 * (median(sched) if sched else median(cpu)) / (1000 * median(el)),
                   max(hwm) / 1024 if hwm else 0)
            )
        for c in b.get("checks", []):
            vals = [r.get("checks", {}).get(c["key"]) for r in ars]
            vals = [v for v in vals if v is not None]
            if not vals:
                continue
            ok = all(bool(v) for v in vals) if c.get("bool") else None
            if c.get("bool"):
                items.append(
                    "%s: %s in %d/%d runs%s"
                    % (a, c["label"], sum(1 for v in vals if v), len(vals),
                       "" if ok else " -- CHECK FAILED")
                )
                summary.append(
                    [b.get("check_short", b.get("short", name)) + " [%s]: %s" % (a, c["label"]),
                     "", "%d/%d runs" % (sum(1 for v in vals if v), len(vals)),
                     "", "", "all runs", "PASS" if ok else "MISS"]
                )
            else:
                items.append("%s: %s: %s" % (a, c["label"], " ".join(str(v) for v in vals)))
    if not b.get("no_checks"):
        if voids:
            items.append("%d run(s) voided and redone: %s" % (
                len(voids), "; ".join("%s round %s: %s" % (d["arm"], d["round"], d["reason"])
                                      for d in voids)))
        elif "failed" in b.get("net_labels", {}):
            items.append("no run voided (no failed connects, no foreign programs)")
    if items:
        out.bullets(items)
    if not b.get("no_progs"):
        for a in arms:
            ars = by_arm.get(a, [])
            if a != "off" and ars:
                progs_table(out, b, a, ars,
                            [d for d in stats_runs if d.get("arm") == a], meta)
    for n in b.get("notes", []):
        out.para("Note: " + n)


def report(results_path, md_path):
    meta, benches, runs, extra, order = {}, [], [], [], []
    with open(results_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            t = d.get("type")
            if t == "meta":
                meta.update(d)
            elif t == "bench":
                benches.append(d)
                order.append(d)
            elif t == "run":
                runs.append(d)
            else:
                extra.append(d)
                if t == "scale":
                    order.append(d)
    out = Out(md_path)
    summary = []

    out.title("Gespann benchmark results", 1)
    out.bullets(
        [
            "command: `%s`" % meta.get("command", "make bench"),
            "machine: %s, %s cores, %s GiB, kernel %s"
            % (
                meta.get("cpu", "?"),
                meta.get("nproc", "?"),
                meta.get("mem_gib", "?"),
                meta.get("kernel", "?"),
            ),
            "%s (%s), rounds per benchmark: %s, run length: %s s%s"
            % (
                meta.get("version", "?"),
                meta.get("commit", "?"),
                meta.get("pairs", "?"),
                meta.get("duration", "?"),
                " (BENCH_QUICK)" if meta.get("quick") else "",
            ),
            "started %s, load average at start: %s, at end: %s, total %s s"
            % (
                meta.get("started", "?"),
                meta.get("load_start", "?"),
                meta.get("load_end", "?"),
                meta.get("total_s", "?"),
            ),
            "kernel.bpf_stats_enabled=1 during every run (BENCH_BPF_STATS=1: adds two "
            "clock reads per program run to the armed runs)"
            if meta.get("bpf_stats")
            else "kernel.bpf_stats_enabled=0 during the counted runs; per-program costs "
            "come from one extra, uncounted run per armed arm with it on",
            "each round runs every arm once, the order rotating from round to round, so "
            "that drift and other load on the machine fall on all of them alike",
            "storm namespaces keep TIME_WAIT: tcp_tw_reuse=1 and ip_local_port_range "
            "1024-65535 in the client namespace",
        ]
    )
    for n in meta.get("notes", []):
        out.para("Note: " + n)

    for b in order:
        if b.get("type") == "scale":
            render_scale(out, b, summary)
            continue
        for sub, sub_runs in expand_parts(b, runs):
            render_bench(out, sub, sub_runs, extra, meta, summary)

    peers = [d for d in extra if d.get("type") == "peer"]
    if peers:
        out.title("Peer tools (bcc libbpf-tools) on this kernel")
        out.table(
            ["tool", "starts", "first error line"],
            [[p["tool"], p["status"], p.get("error", "").replace("|", "/")] for p in peers],
        )
    for d in extra:
        if d.get("type") == "skipped":
            out.para("Skipped: %s (%s)" % (d.get("bench"), d.get("reason")))

    out.title("Summary")
    out.table(["benchmark", "off", "on", "ratio of medians", "round ratios min-max", "target",
               "result"], summary)
    out.para(
        "%d checks, %d PASS, %d MISS"
        % (
            sum(1 for s in summary if s[6] == "PASS" or s[6].startswith("MISS")),
            sum(1 for s in summary if s[6] == "PASS"),
            sum(1 for s in summary if s[6].startswith("MISS")),
        )
    )
    out.close()


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "progs":
        cmd_progs()
    elif cmd == "progdelta" and len(argv) == 5:
        cmd_progdelta(argv[2], argv[3], argv[4])
    elif cmd == "maps" and len(argv) == 3:
        cmd_maps(argv[2])
    elif cmd == "jget" and len(argv) == 4:
        cmd_jget(argv[2], argv[3])
    elif cmd == "features" and len(argv) == 3:
        cmd_features(argv[2])
    elif cmd == "features-doc" and len(argv) == 3:
        print(feature_spec(argv[2])[1])
    elif cmd == "features-list":
        print("\n".join(FEATURES))
    elif cmd == "report" and len(argv) == 4:
        report(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
