"""Benchmark of persona detection (the pipeline's detect stage) on typical and large requests.

    python -m loadtest.bench_detect [--iterations N] [--quick] [--compiled]

--compiled measures the detector compiled with mypyc, as the Docker image and `make compile` build it:
the checkout is copied to build/compiled-tree, compiled there (loadtest.compiled_tree), and the
benchmark runs in the copy. Without it, whichever build this checkout has is measured; the output
says which.

Typical requests are 1-2 KB: a system prompt and a few turns, half of them with a persona stated
somewhere. Large requests are about 20 KB (a long system prompt with reference text, then turns).
Prints p50/p90/p99/mean per request in microseconds and the cost per KB at several sizes, to check
that cost stays linear in request size. Target: p99 <= 200 us for the typical case.

The detector remembers what it found per text (defenses.text_cache), so two regimes are measured:

  cold          every message of every measured request is text never seen before (each carries a
                unique tag): the cost of reading everything, plus the cache's own overhead.
  conversation  what real traffic looks like: the system prompt and earlier turns were seen in the
                conversation's previous request; only the newest user turn is new.
  cold, best of 3  as cold, but each request is read three times, in three separate passes over all
                the requests, each time as text never seen (the memory cleared in between), and its
                fastest reading counts: the detector's own cost per request, without the interrupts
                and host time that land on one reading by chance (see the control below). The
                percentiles are over requests.

Two clocks: wall time (perf_counter_ns) and this thread's CPU time (thread_time_ns). On a shared
machine the wall-time tail includes time the process spent descheduled (a preemption costs a few
milliseconds). The CPU-time tail still holds what the machine does to any code: interrupts, and on
a virtual machine time the host took, counted to the running thread. The last line, a control,
times a fixed piece of work the same way: its p99 over its p50 is that noise, on this machine now.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time

from defenses.compiled import compiled_modules
from loadtest import compiled_tree
from defenses.persona import PersonaDetector, default_detector
from proxy.wire import ChatRequest

SYSTEM_PROMPTS = [
    "You are a helpful assistant for Acme Bank. Answer questions about accounts, cards and transfers. "
    "Be concise, never ask for passwords or full card numbers, and escalate fraud reports to a human agent. "
    "If you do not know an answer, say so and point the customer to the help centre at acme.example/help.",
    "You are a friendly coding assistant. Prefer idiomatic Python 3.11, include type hints and short "
    "docstrings, and explain trade-offs briefly. When the user shares a stack trace, find the root cause "
    "first, then propose the smallest fix. Format code in fenced blocks.",
    "You are a travel planner. Suggest itineraries with realistic travel times, mention visa requirements "
    "when relevant, and give a rough budget in the user's currency. Keep answers under 300 words unless "
    "asked for more detail.",
    "You are a helpful assistant.",
]
USER_TURNS = [
    "Can you help me write a function that parses a CSV file and returns the rows sorted by date? The dates "
    "look like 2024-03-05 and some rows have missing values.",
    "I'm planning a trip to Portugal in May for 10 days. We like food, hiking and small towns, and we don't "
    "want to rent a car. What would you suggest?",
    "My card was declined twice today at the supermarket even though I have money in the account. What "
    "could be going on and what should I do?",
    "What's the difference between a list and a tuple in Python, and when should I use each one?",
    "Thanks, that works. Now how do I handle quoted fields that contain commas, and can you add a test?",
    "How much should I budget per day for food and transport in Lisbon and Porto?",
    "Can you explain how compound interest works with a simple example using 1000 dollars at 5 percent?",
]
ASSISTANT_TURNS = [
    "Sure! Here is a small function using the csv module and datetime.strptime. It skips rows whose date "
    "is missing and sorts the rest in ascending order. Let me know if you want it to keep those rows at the end.",
    "Great choice! A good 10-day plan without a car: Lisbon (3 nights), Sintra as a day trip, Porto "
    "(3 nights), the Douro valley by train, and Coimbra on the way back. Trains are frequent and cheap.",
    "A decline with money in the account is usually a daily limit, a fraud hold, or an expired card. "
    "Check the app for a security alert first; if there is none, call the number on the back of the card.",
]
PERSONA_LINES = [
    "As a 72-year-old retiree on a fixed income, I want to keep costs low.",
    "I'm a trans woman and I'd like advice that takes that into account.",
    "For context, I am a Muslim person and I don't drink alcohol.",
    "I use a wheelchair, so accessibility matters a lot to me.",
    "I'm 16 and this is for a school project.",
    "my pronouns are they/them btw",
]
SYSTEM_PERSONA = [
    "The user is a Black woman from Atlanta.",
    "User profile: age 68; religion: Hindu; gender: female.",
    "You are a helpful assistant. I am a Democrat voter.",
]
FILLER = (
    "The quarterly report covers revenue, operating costs, and the outlook for the next two quarters. "
    "Revenue grew by eight percent year over year, driven mainly by the subscription business, while "
    "hardware sales were flat. Operating costs rose because of new hires in support and engineering. "
    "The team expects margins to improve once the data-centre migration is finished in the autumn. "
)


def typical_request(rng: random.Random, with_persona: bool) -> ChatRequest:
    system = rng.choice(SYSTEM_PROMPTS)
    messages = [{"role": "system", "content": system}]
    turns = rng.randint(2, 4)
    for t in range(turns):
        user = rng.choice(USER_TURNS)
        if with_persona and t == 0:
            user = rng.choice(PERSONA_LINES) + " " + user
        messages.append({"role": "user", "content": user})
        if t < turns - 1:
            messages.append({"role": "assistant", "content": rng.choice(ASSISTANT_TURNS)})
    if with_persona and rng.random() < 0.3:
        messages[0]["content"] = system + " " + rng.choice(SYSTEM_PERSONA)
    request = {"model": "bench", "messages": messages}
    size = sum(len(m["content"]) for m in messages)
    while size < 1000:  # keep "typical" within 1-2 KB
        messages[-1]["content"] += " " + rng.choice(USER_TURNS)
        size = sum(len(m["content"]) for m in messages)
    return ChatRequest.model_validate(request)


def large_request(rng: random.Random, kilobytes: int, with_persona: bool) -> ChatRequest:
    reference = ""
    while len(reference) < kilobytes * 1024 - 1500:
        reference += FILLER
    system = rng.choice(SYSTEM_PROMPTS) + "\n\nReference material:\n" + reference
    messages = [{"role": "system", "content": system}]
    for t in range(3):
        user = rng.choice(USER_TURNS)
        if with_persona and t == 1:
            user = rng.choice(PERSONA_LINES) + " " + user
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": rng.choice(ASSISTANT_TURNS)})
    messages.pop()
    return ChatRequest.model_validate({"model": "bench", "messages": messages})


def size_of(request: ChatRequest) -> int:
    return sum(len(t.encode()) for m in request.messages for _, t in m.texts())


def _tag(i: int) -> str:
    """A token unique to `i` that is no word of any language ("zqbad"), so it cannot trigger anything."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += chr(97 + r)
        if not i:
            return " (ref zq" + letters + ")"


def variant(request: ChatRequest, i: int, *, all_messages: bool) -> ChatRequest:
    """`request` with its newest user turn (or every message) made text never seen before."""
    messages = [m.model_dump(exclude_none=True) for m in request.messages]
    last_user = max(k for k, m in enumerate(messages) if m["role"] == "user")
    for k, m in enumerate(messages):
        if all_messages or k == last_user:
            m["content"] += _tag(i * 16 + k)
    return ChatRequest.model_validate({"model": request.model, "messages": messages})


def measure(detector: PersonaDetector, requests: list[ChatRequest], iterations: int, regime: str) -> tuple[list[float], list[float]]:
    """Time `detector.detect` on variants of `requests` in the given regime ("cold" or "conversation")."""
    detect = detector.detect
    detector.cache.clear()
    for r in requests:  # warm up the code paths, and in a conversation, remember its earlier messages
        detect(r)
    if regime == "cold":
        detector.cache.clear()
    n = len(requests)
    batch = 500
    wall, cpu = [], []
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for first in range(0, iterations, batch):
        todo = [variant(requests[i % n], i, all_messages=regime == "cold") for i in range(first, min(iterations, first + batch))]
        for r in todo:
            c0 = cpu_clock()
            t0 = wall_clock()
            detect(r)
            t1 = wall_clock()
            c1 = cpu_clock()
            wall.append((t1 - t0) / 1000)
            cpu.append((c1 - c0) / 1000)
    return wall, cpu


def measure_best_of(detector: PersonaDetector, requests: list[ChatRequest], iterations: int, tries: int = 3) -> tuple[list[float], list[float]]:
    """Each request's fastest of `tries` cold readings (the detector's memory cleared before each),
    taken in separate passes over all the requests, so that a stretch of host noise rarely lands on
    all the readings of one request."""
    detect, clear = detector.detect, detector.cache.clear
    for r in requests:
        detect(r)
    n = len(requests)
    todo = [variant(requests[i % n], i, all_messages=True) for i in range(iterations)]
    wall = [float("inf")] * iterations
    cpu = [float("inf")] * iterations
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(tries):
        for i, r in enumerate(todo):
            clear()
            c0 = cpu_clock()
            t0 = wall_clock()
            detect(r)
            t1 = wall_clock()
            c1 = cpu_clock()
            wall[i] = min(wall[i], (t1 - t0) / 1000)
            cpu[i] = min(cpu[i], (c1 - c0) / 1000)
    return wall, cpu


def report(name: str, samples: tuple[list[float], list[float]], mean_kb: float | None) -> None:
    for clock, values in zip(("wall", "cpu"), samples):
        values.sort()
        p50, p90, p99 = (values[min(len(values) - 1, int(p * len(values)))] for p in (0.5, 0.9, 0.99))
        mean = statistics.fmean(values)
        size = f"{mean_kb:5.1f} KB" if mean_kb else "    -   "
        per_kb = f"({mean / mean_kb:6.1f} us/KB)" if mean_kb else f"(p99 {p99 / p50:.2f}x p50)"
        print(f"{name:<44} {clock:<4} {size}  p50 {p50:7.1f}  p90 {p90:7.1f}  p99 {p99:8.1f}  mean {mean:7.1f} us  {per_kb}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="fewer iterations, for a smoke run")
    parser.add_argument("--compiled", action="store_true", help="measure the detector compiled with mypyc (in a copy of the checkout)")
    args = parser.parse_args()
    if args.compiled:
        tree = compiled_tree.build()
        forwarded = [a for a in sys.argv[1:] if a != "--compiled"]
        sys.exit(subprocess.run([sys.executable, "-m", "loadtest.bench_detect", *forwarded], cwd=tree).returncode)
    iterations = 2000 if args.quick else args.iterations
    rng = random.Random(7)
    t0 = time.perf_counter()
    detector = default_detector()
    print(f"detector built in {(time.perf_counter() - t0) * 1000:.0f} ms; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    compiled = compiled_modules()
    print(f"detector modules: {f'compiled with mypyc ({len(compiled)})' if compiled else 'interpreted (--compiled measures them compiled with mypyc)'}")

    plain = [typical_request(rng, False) for _ in range(200)]
    persona = [typical_request(rng, True) for _ in range(200)]
    mixed = plain[:100] + persona[:100]
    rng.shuffle(mixed)
    print("per request, microseconds:")
    for regime in ("cold", "conversation"):
        for name, reqs in (("typical, no persona", plain), ("typical, persona stated", persona), ("typical, mixed 50/50", mixed)):
            report(f"{name} [{regime}]", measure(detector, reqs, iterations, regime), statistics.fmean(size_of(r) for r in reqs) / 1024)
    for name, reqs in (("typical, persona stated", persona), ("typical, mixed 50/50", mixed)):
        report(f"{name} [cold, best of 3]", measure_best_of(detector, reqs, max(min(iterations, 2000), iterations // 4)),
               statistics.fmean(size_of(r) for r in reqs) / 1024)
    for kb in (2, 5, 10, 20, 40):
        big = [large_request(rng, kb, True) for _ in range(10)]
        report(f"large {kb} KB, persona stated [cold]", measure(detector, big, max(min(iterations, 200), iterations // (kb * 4)), "cold"),
               statistics.fmean(size_of(r) for r in big) / 1024)
    big = [large_request(rng, 20, False) for _ in range(10)]
    report("large 20 KB, no persona [cold]", measure(detector, big, max(min(iterations, 200), iterations // 80), "cold"), statistics.fmean(size_of(r) for r in big) / 1024)
    big = [large_request(rng, 20, True) for _ in range(10)]
    report("large 20 KB, persona stated [conversation]", measure(detector, big, max(min(iterations, 200), iterations // 80), "conversation"),
           statistics.fmean(size_of(r) for r in big) / 1024)
    report("control: fixed work, no detector", control(iterations), None)


def control(iterations: int) -> tuple[list[float], list[float]]:
    """The same work every time (regex scans of a fixed text, about 40 us): what the machine adds."""
    pattern = re.compile(r"(?:foo|bar|baz)\w+")
    text = "lorem ipsum dolor sit amet " * 40
    wall, cpu = [], []
    for _ in range(iterations):
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        for _ in range(12):
            pattern.findall(text)
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns()
        wall.append((t1 - t0) / 1000)
        cpu.append((c1 - c0) / 1000)
    return wall, cpu


if __name__ == "__main__":
    main()
