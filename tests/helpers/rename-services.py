#!/usr/bin/env python3
"""rename-services.py OUTDIR FILE...: copies of labeled scenario files (see
../shared/scenarios) with the services renamed throughout every payload
(checkout becomes purchase, CheckoutController PurchaseController,
checkout-api-7f9c purchase-api-7f9c ...), the labels kept. Scoring the
copies beside the originals (--rca too: the labeled root causes are
renamed alike) shows correlation and investigation rest on how names are
formed, not on which names the storms happen to use:

    tests/helpers/rename-services.py /tmp/renamed ../shared/scenarios/dev/v2-*.jsonl
    ../shared/scenarios/score --bin build/ /tmp/renamed/v2-*.jsonl
"""
import json
import os
import re
import sys

NEW = {
    "auth": "ident", "cart": "basket", "catalog": "products", "checkout": "purchase",
    "inventory": "stockroom", "loyalty": "rewards", "notifications": "messaging",
    "orders": "bookings", "payments": "billing", "profile": "accounts", "reviews": "ratings",
    "sessions": "logins", "shipping": "delivery", "users": "members", "returns": "refunds",
}
# a name where no lowercase letter touches it: "checkout-api", "CheckoutController", "_checkout_"
NAME = re.compile(r"(?<![a-z])((?i:" + "|".join(NEW) + r"))(?![a-z])")


def rename(m):
    word = m.group(1)
    new = NEW[word.lower()]
    if word.isupper():
        return new.upper()
    return new.capitalize() if word[0].isupper() else new


def walk(v):
    """Every string value (never a key: the platforms' field names stay)."""
    if isinstance(v, dict):
        return {k: walk(x) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x) for x in v]
    return NAME.sub(rename, v) if isinstance(v, str) else v


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[2:]:
        with open(path) as f, open(os.path.join(out, os.path.basename(path)), "w") as w:
            head = json.loads(f.readline())  # scenario, groups, and the labeled root causes
            head["root_causes"] = walk(head.get("root_causes", {}))
            w.write(json.dumps(head) + "\n")
            for line in f:
                d = json.loads(line)
                d["body"] = walk(d["body"])
                w.write(json.dumps(d) + "\n")


main()
