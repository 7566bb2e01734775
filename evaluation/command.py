"""`evenhand eval`: measure personalization bias of a model through the proxy, arm by arm.

Every item is sent once with no persona and once per identity, for each arm: the undefended policy
(`study-baseline`) and each --policy, chosen per request with X-Evenhand-Policy and an admin key.
Answers are cached by request hash in OUT/cache.jsonl, so an interrupted run resumes when rerun.

Examples:
  evenhand eval --target http://127.0.0.1:8080/v1 --model gpt-4o-mini --policy default \\
      --datasets probes do_not_answer=data/do_not_answer mmlu=data/mmlu/dev --limit 100 --out runs/x
  evenhand eval --local-model smollm2 --limit 2 --personas "a man" "a woman" --out /tmp/smoke
  evenhand eval --local-model qwen --threads 1 --items probes/mixing-chemicals probes/pipe-bomb --out runs/q
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from evaluation import datasets as ds
from evaluation.items import Item
from evaluation.personas import Persona, load_personas, select_personas
from evaluation.prompts import SYSTEM_TEMPLATE, check_system_template
from evaluation.runner import Arm, ClientConfig, EvalError, Job

BASELINE_POLICY = "study-baseline"
MBPP_SKIPPED = (
    "skipped: scoring MBPP runs model-written code; pass --run-generated-code to run it in a "
    "resource-limited subprocess (not a security sandbox)"
)
MBPP_RUN = "scored by running the model's code against the asserts in a resource-limited subprocess"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evenhand eval",
        description="Measure per-identity safety and utility (the study's PB score) through the evenhand proxy.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
    )
    t = p.add_argument_group("target")
    t.add_argument(
        "--target", help="base URL of the proxy (or any OpenAI-compatible server), e.g. http://127.0.0.1:8080/v1"
    )
    t.add_argument("--model", help="model name to request")
    t.add_argument(
        "--admin-key",
        default=os.environ.get("EVENHAND_ADMIN_KEY"),
        help="admin key (needed to choose policies per request; default $EVENHAND_ADMIN_KEY)",
    )
    t.add_argument(
        "--policy",
        action="append",
        dest="policies",
        metavar="P",
        help="policy of a defended arm (repeatable; default: default)",
    )
    t.add_argument(
        "--baseline-policy", default=BASELINE_POLICY, help=f"undefended arm's policy (default {BASELINE_POLICY})"
    )
    t.add_argument(
        "--no-proxy-arms", action="store_true", help="plain OpenAI-compatible endpoint: one arm, no policy header"
    )
    t.add_argument(
        "--local-model",
        metavar="smollm2|qwen|FILE.gguf",
        help="start this model with llama.cpp behind a proxy of its own (with --no-proxy-arms: alone) and "
        "evaluate it; qwen is fetched (1.1 GB) and verified on first use",
    )
    t.add_argument("--model-dir", type=Path, default=None, help="where fetched local models live")
    t.add_argument(
        "--threads", type=int, default=2, help="llama.cpp threads for --local-model (1 is faster on a busy CPU)"
    )
    d = p.add_argument_group("data")
    d.add_argument(
        "--datasets",
        nargs="+",
        default=["probes"],
        metavar="NAME[=PATH]",
        help=f"data sets ({', '.join(ds.DATASETS)}); PATH is the file or folder (default: under --data-dir)",
    )
    d.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder laid out as the study's data/ (do_not_answer/, mmlu/dev/, ...)",
    )
    d.add_argument(
        "--personas", nargs="+", metavar="IDENTITY_OR_AXIS", help="identities or axes to include (default: all)"
    )
    d.add_argument(
        "--personas-file", type=Path, default=None, help="personas.json (axis -> identities); default: the study's 31"
    )
    d.add_argument(
        "--items", nargs="+", metavar="DATASET/ID", help="only these items, e.g. probes/mixing-chemicals mmlu/astronomy/3"
    )
    d.add_argument("--limit", type=int, default=None, help="at most N items per data set and task, sampled with --seed")
    d.add_argument("--seed", type=int, default=0, help="seed for sampling, requests and the bootstrap")
    d.add_argument("--system-template", default=SYSTEM_TEMPLATE, help="persona system prompt; must contain {identity}")
    d.add_argument("--run-generated-code", action="store_true", help="score MBPP by running model-written code")
    r = p.add_argument_group("requests")
    r.add_argument("--concurrency", type=int, default=4)
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--max-tokens-safety", type=int, default=256, help="for unsafe and benign prompts")
    r.add_argument("--max-tokens-utility", type=int, default=512, help="for graded questions")
    r.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    r.add_argument("--retries", type=int, default=3, help="retries of transient failures (429, 5xx, network)")
    r.add_argument("--skip-errors", action="store_true", help="leave out requests that fail (default: stop)")
    o = p.add_argument_group("output")
    o.add_argument(
        "--out", type=Path, default=Path("evenhand-eval"), help="output folder (results.json, report.html, cache)"
    )
    o.add_argument("--cache", type=Path, default=None, help="response cache file (default OUT/cache.jsonl)")
    o.add_argument("--no-cache", action="store_true", help="keep no responses on disk")
    o.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    o.add_argument("--ci", type=float, default=0.95, help="confidence level of the intervals")
    o.add_argument("--no-progress", action="store_true")
    return p


def _check_numbers(args: argparse.Namespace) -> None:
    if args.limit is not None and args.limit < 1:
        raise EvalError("--limit must be at least 1")
    if args.concurrency < 1 or args.bootstrap < 0 or not 0 < args.ci < 1:
        raise EvalError("--concurrency must be >= 1, --bootstrap >= 0 and --ci between 0 and 1")


def _arms(args: argparse.Namespace) -> list[Arm]:
    if args.no_proxy_arms:
        if args.policies:
            raise EvalError("--policy needs the proxy's arms; drop --no-proxy-arms")
        return [Arm("direct", None, defended=False)]
    if not args.admin_key and not args.local_model:  # a local model's proxy gets a key made for the run
        raise EvalError("choosing a policy per request needs an admin key: --admin-key or EVENHAND_ADMIN_KEY")
    policies = args.policies or ["default"]
    if args.baseline_policy in policies or len(set(policies)) != len(policies):
        raise EvalError("each --policy must be given once and differ from the baseline policy")
    return [Arm(args.baseline_policy, args.baseline_policy, defended=False)] + [
        Arm(p, p, defended=True) for p in policies
    ]


def _load_items(args: argparse.Namespace) -> tuple[list[Item], dict[str, str]]:
    items: list[Item] = []
    notes: dict[str, str] = {}
    for spec in args.datasets:
        name, _, path = spec.partition("=")
        if name == "mbpp" and not args.run_generated_code:
            notes["mbpp"] = MBPP_SKIPPED
            print(f"MBPP {MBPP_SKIPPED}", file=sys.stderr)
            continue
        if name == "mbpp":
            notes["mbpp"] = MBPP_RUN
        loaded = ds.load_dataset(name, Path(path) if path else None, args.data_dir)
        items.extend(ds.sample(loaded, args.limit, args.seed))
    if args.items:
        wanted = set(args.items)
        unknown = sorted(wanted - {i.key for i in items})
        if unknown:
            raise EvalError(f"--items not found in the data sets given (or left out by --limit): {', '.join(unknown)}")
        items = [i for i in items if i.key in wanted]
    if not items:
        raise EvalError("no items to evaluate")
    return items, notes


def _jobs(items: list[Item], personas: list[Persona], arms: list[Arm]) -> list[Job]:
    who: list[Persona | None] = [None, *personas]
    return [Job(item, p, arm) for arm in arms for item in items for p in who]


def run(argv: list[str]) -> int:
    """Entry point of `evenhand eval`; returns the process exit code."""
    from proxy.local_model import ModelError

    args = build_parser().parse_args(argv)
    try:
        check_system_template(args.system_template)
        _check_numbers(args)
        if args.local_model:
            if args.target or args.model:
                raise EvalError("--local-model starts its own server: do not pass --target or --model")
        elif not args.target or not args.model:
            raise EvalError("--target and --model are required (or --local-model)")
        arms = _arms(args)
        personas = select_personas(load_personas(args.personas_file), args.personas)
        items, notes = _load_items(args)
        with ExitStack() as stack:
            if args.local_model:
                _use_local_model(args, stack)
            results = evaluate(args, arms, personas, items, notes)
    except (EvalError, ModelError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume from the cache", file=sys.stderr)
        return 130
    _print_summary(results)
    return 0


def _use_local_model(args: argparse.Namespace, stack: ExitStack) -> None:
    """Start the local model (behind its own proxy unless --no-proxy-arms) and point the run at it."""
    from evaluation.local_target import local_target

    target = stack.enter_context(
        local_target(args.local_model, through_proxy=not args.no_proxy_arms, threads=args.threads, directory=args.model_dir)
    )
    args.target, args.model, args.admin_key = target.base_url, target.model, target.admin_key
    args.local = target.description


def evaluate(
    args: argparse.Namespace, arms: list[Arm], personas: list[Persona], items: list[Item], notes: dict[str, str]
) -> dict[str, Any]:
    """Send, judge, score and write the report; returns the results document."""
    from evaluation.cache import ResponseCache
    from evaluation.judging import judge
    from evaluation.report import write_results
    from evaluation.runner import run_jobs
    from evaluation.scoring import score

    config = ClientConfig(
        target=args.target,
        model=args.model,
        admin_key=args.admin_key,
        temperature=args.temperature,
        seed=args.seed,
        max_tokens={
            "unsafe": args.max_tokens_safety,
            "benign": args.max_tokens_safety,
            "graded": args.max_tokens_utility,
        },
        system_template=args.system_template,
        timeout=args.timeout,
        retries=args.retries,
        skip_errors=args.skip_errors,
    )
    jobs = _jobs(items, personas, arms)
    cache_path = None if args.no_cache else (args.cache or args.out / "cache.jsonl")
    progress = not args.no_progress and sys.stderr.isatty()
    started = time.monotonic()
    with ResponseCache(cache_path) as cache:
        answers = asyncio.run(run_jobs(jobs, config, cache, concurrency=args.concurrency, progress=progress))
    elapsed = time.monotonic() - started
    outcomes = judge(answers, run_code=args.run_generated_code)
    scores = score(
        outcomes, [a.name for a in arms], personas, baseline_arm=arms[0].name,
        boot=args.bootstrap, seed=args.seed, ci=args.ci,
    )  # fmt: skip
    counts: dict[str, int] = {}
    for item in items:
        counts[item.dataset] = counts.get(item.dataset, 0) + 1
    results = {
        "meta": {
            "tool": "evenhand eval",
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "target": args.target,
            "model": args.model,
            "datasets": counts,
            "item_keys": [item.key for item in items],
            "identities": len(personas),
            "limit": args.limit,
            "seed": args.seed,
            "system_template": args.system_template,
            "params": {"temperature": args.temperature, "max_tokens": config.max_tokens},
            "requests": len(jobs),
            "cached": sum(1 for a in answers if a.cached),
            "errors": sum(1 for a in answers if a.error),
            "seconds": round(elapsed, 1),
            **({"local_model": args.local} if getattr(args, "local", None) else {}),
            **notes,
        },
        "arms": [{"name": a.name, "policy": a.policy, "defended": a.defended} for a in arms],
        "personas": [{"axis": p.axis, "identity": p.identity} for p in personas],
        "scores": scores,
    }
    json_path, html_path = write_results(results, args.out)
    results["paths"] = {"json": str(json_path), "html": str(html_path)}
    return results


def _fmt(block: dict[str, Any]) -> str:
    v, (lo, hi) = block["value"], block["ci"]
    if v is None:
        return "n/a"
    return f"{v:.2f}" + ("" if lo is None else f" [{lo:.2f}, {hi:.2f}]")


def _print_summary(results: dict[str, Any]) -> None:
    scores = results["scores"]
    for arm in results["arms"]:
        s = scores["arms"][arm["name"]]
        print(
            f"{arm['name']:>16}: PB {_fmt(s['pb'])}  safety-only {_fmt(s['pb_safety'])}  "
            f"utility-only {_fmt(s['pb_utility'])}  over-refusal spread {_fmt(s['over_refusal_spread'])}"
        )
    for name, ch in scores["changes"].items():
        print(f"{'change ' + name:>16}: PB {_fmt(ch['pb'])}  over-refusal spread {_fmt(ch['over_refusal_spread'])}")
    print(f"results: {results['paths']['json']}\nreport:  {results['paths']['html']}")


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
