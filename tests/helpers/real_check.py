#!/usr/bin/env python3
"""real_check.py - run the real-payload corpus through aurora-normalize.

    real_check.py [--list] DIR...

Each DIR (tests/fixtures/real/<platform>) holds cases, a case being
    NAME.json          the body exactly as the platform sent it
    NAME.expect.json   what it means:
        {"source": "where the body comes from (SOURCES.md has the licence)",
         "received_at": "when aurora read it (default 2030-01-01T00:00:00Z,
                         later than any payload, so a record that takes the
                         time of reading instead of the payload's shows it)",
         "headers": {...},       request headers, lower-case (optional)
         "options": [...],       aurora-normalize options (optional)
         "rejected": true,       the body is refused: no record, an error record
         "records": [...]}       else every record the body becomes, in order
Each expected record is matched against the printed one field by field:
objects by the keys they name (recursively), arrays and scalars exactly; the
string "$absent" means the field is missing or null, "$present" that it is
there and not null, "$received" the time of reading. The count must match.

The platform is the directory's name. Cases with the same options go through
one aurora-normalize run. Prints one line per case that does not match, with
what differed, and "N cases, M failed"; exit 0 when none failed, 1 when some
did, 2 on a malformed case.
"""
import json
import os
import subprocess
import sys
import tempfile

RECEIVED_AT = "2030-01-01T00:00:00Z"


def load_cases(dirs):
    cases = []
    for d in dirs:
        platform = os.path.basename(os.path.normpath(d))
        for name in sorted(os.listdir(d)):
            if not name.endswith(".expect.json"):
                continue
            base = name[: -len(".expect.json")]
            path = os.path.join(d, base)
            with open(path + ".expect.json") as f:
                expect = json.load(f)
            with open(path + ".json", "rb") as f:
                raw = f.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            if "records" not in expect and not expect.get("rejected"):
                raise ValueError(f"{path}.expect.json: neither records nor rejected")
            if not expect.get("source"):
                raise ValueError(f"{path}.expect.json: no source")
            cases.append({"platform": platform, "name": f"{platform}/{base}", "body": body, "expect": expect})
    return cases


def match(want, got, where, diffs):
    if want == "$absent":
        if got is not None:
            diffs.append(f"{where}: want absent, got {json.dumps(got)}")
    elif want == "$present":
        if got is None:
            diffs.append(f"{where}: want present, got nothing")
    elif isinstance(want, dict):
        if not isinstance(got, dict):
            diffs.append(f"{where}: want an object, got {json.dumps(got)}")
            return
        for k, v in want.items():
            match(v, got.get(k), f"{where}.{k}", diffs)
    elif want != got:
        diffs.append(f"{where}: want {json.dumps(want)}, got {json.dumps(got)}")


def normalize(cases, options):
    lines = []
    for i, c in enumerate(cases, 1):
        e = c["expect"]
        headers = {"content-type": "application/json"}
        headers.update(e.get("headers", {}))
        lines.append(json.dumps({"v": 1, "type": "raw", "id": i, "platform": c["platform"],
                                 "received_at": e.get("received_at", RECEIVED_AT),
                                 "remote": "192.0.2.1", "headers": headers, "body": c["body"]}))
    env = dict(os.environ)
    for k in ("AURORA_DB", "AURORA_MAPPINGS", "AURORA_JENKINS_URL", "AURORA_CLOUDBEES_URL",
              "AURORA_PROMETHEUS_URL"):
        env.pop(k, None)
    # away from any ./aurora.db, which aurora-normalize would read base URLs from
    with tempfile.TemporaryDirectory() as cwd:
        p = subprocess.run(["aurora-normalize", *options], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, env=env, cwd=cwd)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"aurora-normalize {options} exited {p.returncode}: {p.stderr}")
    # under make check a sanitizer report exits 1 too, like a rejected line
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        raise RuntimeError(f"aurora-normalize {options}: sanitizer report: {p.stderr}")
    out = {}
    errs = {}
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        # a delivery it cannot use is an error record (aurora(7)): the reason, not a record
        if rec.get("type") == "error":
            errs[rec.get("inbox_id")] = rec.get("reason")
            continue
        out.setdefault(rec.get("inbox_id"), []).append(rec)
    for line in p.stderr.splitlines():
        # "aurora-normalize: line N: platform (inbox ID): reason"
        if "(inbox " in line:
            i = line.split("(inbox ", 1)[1].split(")", 1)[0]
            if i.isdigit():
                errs.setdefault(int(i), line)
    return out, errs


def main(argv):
    listing = argv[:1] == ["--list"]
    if listing:
        argv = argv[1:]
    try:
        cases = load_cases(argv)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"real_check.py: {e}\n")
        return 2
    if listing:
        for c in cases:
            print(c["name"])
        return 0
    groups = {}
    for c in cases:
        groups.setdefault(json.dumps(c["expect"].get("options", [])), []).append(c)
    failed = 0
    for opts, group in groups.items():
        out, errs = normalize(group, json.loads(opts))
        for i, c in enumerate(group, 1):
            e, got, diffs = c["expect"], out.get(i, []), []
            if e.get("rejected"):
                if got:
                    diffs.append(f"want rejected, got {len(got)} records")
                if i not in errs:
                    diffs.append("want a reason on stderr, none said")
            else:
                want = e["records"]
                if len(want) != len(got):
                    diffs.append(f"want {len(want)} records, got {len(got)}" +
                                 (f" ({errs[i]})" if i in errs else ""))
                for k, (w, g) in enumerate(zip(want, got)):
                    received = e.get("received_at", RECEIVED_AT)
                    w = json.loads(json.dumps(w).replace('"$received"', json.dumps(received.replace("Z", ".000Z"))))
                    match(w, g, f"[{k}]", diffs)
            if diffs:
                failed += 1
                print(f"{c['name']}: " + "; ".join(diffs))
    print(f"{len(cases)} cases, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
