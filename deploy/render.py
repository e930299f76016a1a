#!/usr/bin/env python3
"""Fill the ${NAME} placeholders of the deploy templates from a values file.

    python deploy/render.py --values deploy/values.env deploy/emr-serverless/start-job-run-refresh.json
    python deploy/render.py --values deploy/values.env --all build/deploy      # every template

Values come from a KEY=VALUE file (deploy/values.example.env documents every key), overridden by
environment variables of the same name. A placeholder without a value is an error (nothing is
rendered half-filled); ``$${`` writes a literal ``${``. Standard library only, so it runs on any
machine that has the aws/gcloud CLIs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Z][A-Z0-9_]*)\}")
TEMPLATE_DIRS = ("emr-serverless", "emr-ec2", "dataproc")
TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml")


def templates() -> list[Path]:
    """Every template file under deploy/ (JSON and YAML in the platform folders)."""
    return sorted(p for d in TEMPLATE_DIRS for p in (DEPLOY / d).rglob("*") if p.suffix in TEMPLATE_SUFFIXES)


def load_values(path: str | Path | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    values: dict[str, str] = {}
    if path:
        for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                raise ValueError(f"{path}:{n}: expected KEY=VALUE, got {raw!r}")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
    env = os.environ if environ is None else environ
    values.update({k: v for k, v in env.items() if re.fullmatch(r"[A-Z][A-Z0-9_]*", k)})
    return values


def placeholders(text: str) -> set[str]:
    return {m.group(2) for m in PLACEHOLDER.finditer(text) if not m.group(1)}


def render(text: str, values: dict[str, str]) -> str:
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: "${" + m.group(2) + "}" if m.group(1) else values[m.group(2)], text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", default=None, help="KEY=VALUE file (default: deploy/values.env if present)")
    ap.add_argument("--all", metavar="OUTDIR", help="render every template into OUTDIR/<platform>/...")
    ap.add_argument("--list", action="store_true", help="print the placeholders each template uses")
    ap.add_argument("template", nargs="?", help="one template; printed to stdout")
    args = ap.parse_args(argv)
    if args.list:
        for t in templates():
            print(f"{t.relative_to(DEPLOY)}: {' '.join(sorted(placeholders(t.read_text(encoding='utf-8'))))}")
        return 0
    values_path = args.values or (DEPLOY / "values.env" if (DEPLOY / "values.env").exists() else None)
    values = load_values(values_path)
    try:
        if args.all:
            out = Path(args.all)
            for t in templates():
                dest = out / t.relative_to(DEPLOY)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(render(t.read_text(encoding="utf-8"), values), encoding="utf-8")
                print(dest)
        elif args.template:
            sys.stdout.write(render(Path(args.template).read_text(encoding="utf-8"), values))
        else:
            ap.error("give a template, --all OUTDIR or --list")
    except KeyError as exc:
        print(f"render: {exc.args[0]} (set it in the values file or the environment)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
