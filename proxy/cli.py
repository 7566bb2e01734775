"""`evenhand`: serve the proxy, audit traffic for personas, check policies, run the study's evaluation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    from proxy.config import ConfigError, load_config
    from proxy.server import serve

    local = None
    if args.local_model:
        from proxy.local_model import LocalModelServer, resolve_model

        try:
            name, gguf = resolve_model(args.local_model)
            print(f"evenhand: starting the local model {name} ({gguf.name})", file=sys.stderr)
            local = (name, LocalModelServer(gguf, threads=args.local_threads).start())
        except RuntimeError as exc:
            print(f"evenhand: {exc}", file=sys.stderr)
            return 2
    try:
        config = load_config(args.config, upstream=args.upstream, local=local)
    except ConfigError as exc:
        print(f"evenhand: {exc}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None}
    if overrides:
        config = config.model_copy(update={"server": config.server.model_copy(update=overrides)})
    if args.policy:
        config = config.model_copy(update={"policies": [*config.policies, *args.policy]})
    serve(config)
    return 0


def _detect(args: argparse.Namespace) -> int:
    from proxy.detect_command import run

    if args.file is None or str(args.file) == "-":
        return run(sys.stdin, sys.stdout, sys.stderr, taxonomy_file=args.taxonomy)
    try:
        source = args.file.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"evenhand detect: {exc}", file=sys.stderr)
        return 2
    with source:
        return run(source, sys.stdout, sys.stderr, taxonomy_file=args.taxonomy)


def _policy_check(args: argparse.Namespace) -> int:
    from proxy.policy_command import check

    return check(args.files, sys.stdout, sys.stderr)


def _policy_schema(args: argparse.Namespace) -> int:
    from proxy.policy_command import schema

    return schema(sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evenhand", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the proxy")
    serve.add_argument("--config", type=Path, help="YAML config file")
    serve.add_argument("--upstream", help="quick start: forward every model to this OpenAI-compatible base URL (…/v1)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--local-model", help="also run a local model with llama.cpp: 'smollm2' (shipped), 'qwen' (fetched and verified on first use) or a .gguf path")
    serve.add_argument("--local-threads", type=int, default=2, help="CPU threads for the local model")
    serve.add_argument("--policy", type=Path, action="append", default=[], help="policy file or directory (repeatable)")
    serve.set_defaults(func=_serve)

    detect = sub.add_parser("detect", help="audit JSON Lines of requests for persona statements")
    detect.add_argument("file", nargs="?", type=Path, help="JSON Lines file (default: standard input)")
    detect.add_argument("--taxonomy", type=Path, help="your own taxonomy file, merged over the built-in one")
    detect.set_defaults(func=_detect)

    policy = sub.add_parser("policy", help="check policy files or print their JSON Schema")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate policy files; exit non-zero on errors")
    check.add_argument("files", nargs="+", type=Path)
    check.set_defaults(func=_policy_check)
    schema = policy_sub.add_parser("schema", help="print the policy JSON Schema (for editors)")
    schema.set_defaults(func=_policy_schema)

    sub.add_parser("eval", help="measure personalization bias through the proxy (see 'evenhand eval --help')", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        from evaluation.command import run

        return run(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
