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

        name, gguf = resolve_model(args.local_model)
        print(f"evenhand: starting the local model {name} ({gguf.name})", file=sys.stderr)
        local = (name, LocalModelServer(gguf, threads=args.local_threads).start())
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evenhand", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the proxy")
    serve.add_argument("--config", type=Path, help="YAML config file")
    serve.add_argument("--upstream", help="quick start: forward every model to this OpenAI-compatible base URL (…/v1)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--local-model", help="also run a local model with llama.cpp: 'smollm2' (shipped) or a .gguf path")
    serve.add_argument("--local-threads", type=int, default=2, help="CPU threads for the local model")
    serve.add_argument("--policy", type=Path, action="append", default=[], help="policy file or directory (repeatable)")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
