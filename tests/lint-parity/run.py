#!/usr/bin/env python3
"""Lint parity of the attributes: an annotated function should draw the warnings the plain one
draws, no more and no fewer.

Generates four copies of template.rs (no attribute, #[retry(..)], #[fallback(default)], the
three stacked), each attribute on one line so line numbers agree, builds each with `cargo build`
and `cargo clippy -- -W clippy::pedantic` (JSON messages), and diffs the multiset of
(tool, lint, line) against the copy without attributes. The crates and results go under
target/lint-parity; the differences expected today are listed in the crate docs ("Lints").

    python3 tests/lint-parity/run.py                       # from the repository's root
    RESULTS=extra python3 tests/lint-parity/run.py -W clippy::nursery   # more lints
"""
import collections, json, os, re, subprocess, sys

SOURCE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(SOURCE))
RUNTIME = os.path.join(ROOT, "mcpstore-errors")
HERE = os.path.join(ROOT, "target", "lint-parity")
TARGET = os.environ.setdefault("CARGO_TARGET_DIR", os.path.join(HERE, "target"))
RETRY = "#[retry(max_attempts = 2, delay = 0)]"
VERSIONS = {
    "none": "// (no attribute)",
    "retry": RETRY,
    "fallback": "#[fallback(default)]",
    "stack": "#[collect_errors] #[fallback(default)] " + RETRY,
}
CLIPPY_EXTRA = sys.argv[1:]  # e.g. -W clippy::nursery for a supplementary run
RESULTS = os.path.join(HERE, os.environ.get("RESULTS", "results"))

template = open(os.path.join(SOURCE, "template.rs")).read()
lines = template.split("\n")

# line -> function: the fn after each //@ATTR marker, plus top-level fns.
fn_re = re.compile(r"^\s*(?:pub )?(?:async )?fn (\w+)")
owner, current, after_marker = {}, "(prelude)", False
for i, line in enumerate(lines, 1):
    if line.strip() == "//@ATTR":
        after_marker = True
    m = fn_re.match(line)
    if m and (after_marker or not line.startswith(" ")):
        current, after_marker = m.group(1), False
    if line.startswith("impl ") or line.startswith("pub struct") or line.startswith("pub trait"):
        current = "(item: %s)" % line.split("{")[0].strip()
    owner[i] = current
# a marker line belongs to the function under it
for i, line in enumerate(lines, 1):
    if line.strip() == "//@ATTR":
        j = i + 1
        while not fn_re.match(lines[j - 1]):
            j += 1
        owner[i] = owner[j]

members = []
for name, attr in VERSIONS.items():
    d = os.path.join(HERE, "crates", name)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    with open(os.path.join(d, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "corpus_{name}"\nversion = "0.0.0"\nedition = "2024"\n'
                f'publish = false\n\n[dependencies]\nmcpstore-errors = {{ path = "{RUNTIME}" }}\n')
    src = re.sub(r"(?m)^(\s*)//@ATTR$", lambda m: m.group(1) + attr, template)
    path = os.path.join(d, "src", "lib.rs")
    if not os.path.exists(path) or open(path).read() != src:
        open(path, "w").write(src)
    members.append(f'"crates/{name}"')
with open(os.path.join(HERE, "Cargo.toml"), "w") as f:
    f.write("[workspace]\nresolver = \"3\"\nmembers = [%s]\n" % ", ".join(members))


def collect(tool, name):
    pkg = f"corpus_{name}"
    if tool == "build":
        cmd = ["cargo", "build", "-p", pkg, "--message-format=json"]
    else:
        cmd = ["cargo", "clippy", "-p", pkg, "--message-format=json", "--",
               "-W", "clippy::pedantic", *CLIPPY_EXTRA]
    # touch so that nothing is replayed from another flag set
    os.utime(os.path.join(HERE, "crates", name, "src", "lib.rs"))
    out = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    found = []
    for raw in out.stdout.splitlines():
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-message" or not msg["target"]["name"].startswith("corpus"):
            continue
        m = msg["message"]
        if m["level"] == "error" and not m.get("code"):
            found.append({"lint": "ERROR", "line": 0, "file": "", "col": 0,
                          "message": m["message"], "text": m["rendered"]})
            continue
        if m["level"] not in ("warning", "error") or not m["spans"]:
            continue
        span = next((s for s in m["spans"] if s["is_primary"]), m["spans"][0])
        code = (m.get("code") or {}).get("code") or "(no code)"
        found.append({"lint": code, "line": span["line_start"], "file": span["file_name"],
                      "col": span["column_start"], "message": m["message"],
                      "text": m["rendered"]})
    if out.returncode != 0:
        print(f"{tool} {name}: exit {out.returncode}\n{out.stderr[-3000:]}", file=sys.stderr)
    return found


results = {}
os.makedirs(RESULTS, exist_ok=True)
for tool in ("build", "clippy"):
    for name in VERSIONS:
        results[(tool, name)] = collect(tool, name)
        json.dump(results[(tool, name)], open(os.path.join(RESULTS, f"{tool}-{name}.json"), "w"), indent=1)

report = []
total = 0
for tool in ("build", "clippy"):
    base = collections.Counter((w["lint"], w["line"]) for w in results[(tool, "none")])
    report.append(f"== {tool}: {sum(base.values())} warnings without attributes")
    for name in list(VERSIONS)[1:]:
        got = results[(tool, name)]
        have = collections.Counter((w["lint"], w["line"]) for w in got)
        extra, missing = have - base, base - have
        report.append(f"-- {tool} / {name}: {sum(have.values())} warnings, "
                      f"{sum(extra.values())} extra, {sum(missing.values())} missing")
        for (lint, line), n in sorted(extra.items(), key=lambda kv: kv[0][1]):
            total += n
            msgs = sorted({w["message"] + f" (col {w['col']}, {w['file']})" for w in got
                           if (w["lint"], w["line"]) == (lint, line)})
            report.append(f"EXTRA   x{n} {lint:40} line {line:4} {owner.get(line, '?'):36} {' | '.join(msgs)}")
        for (lint, line), n in sorted(missing.items(), key=lambda kv: kv[0][1]):
            total += n
            msgs = sorted({w["message"] for w in results[(tool, "none")] if (w["lint"], w["line"]) == (lint, line)})
            report.append(f"MISSING x{n} {lint:40} line {line:4} {owner.get(line, '?'):36} {' | '.join(msgs)}")
open(os.path.join(RESULTS, "diff.txt"), "w").write("\n".join(report) + "\n")
print("\n".join(report))
print(f"\n{total} differences; details in {RESULTS}/")
