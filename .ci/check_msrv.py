"""Fails when a resolved dependency declares a rust-version newer than ours.

The toolchain here cannot be swapped for the declared minimum (no rustup
downloads), so this checks the next best thing: every crate in the resolved
library's dependency graph (dev-dependencies aside) promises to build with the crate's own `rust-version`.
"""
import json
import subprocess
import sys


def parse(v):
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
ours = next(p for p in meta["packages"] if p["name"] == "jwt-sso")
msrv = parse(ours["rust_version"])
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
# What a user of the library builds: normal and build dependencies, not dev ones.
resolved, todo = set(), [ours["id"]]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        if any(k["kind"] != "dev" for k in dep["dep_kinds"]) and dep["pkg"] not in resolved:
            resolved.add(dep["pkg"])
            todo.append(dep["pkg"])
newer = [
    f"{p['name']} {p['version']} needs Rust {p['rust_version']}"
    for p in meta["packages"]
    if p["id"] in resolved and p.get("rust_version") and parse(p["rust_version"]) > msrv
]
if newer:
    print(f"rust-version {ours['rust_version']} is too low for:", *newer, sep="\n  ")
    sys.exit(1)
print(f"ok: {len(resolved)} crates build with Rust {ours['rust_version']} or older")
