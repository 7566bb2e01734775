"""The whole harness on a tiny matrix: it starts the fake upstream and Evenhand, measures every point
for every contender, and writes the table and the JSON. No speed is asserted: this proves it runs."""

import json
import subprocess
import sys

from loadtest.run import BEGIN, END, update_readme
from tests.servers import REPO


def test_a_tiny_matrix_runs_end_to_end(tmp_path):
    out = tmp_path / "results.json"
    argv = [sys.executable, "-m", "loadtest.run", "--contenders", "direct,evenhand-default", "--concurrency", "1,4", "--rounds", "1",
            "--duration", "0.4", "--warmup", "0.2", "--driver", "aio", "--model-latency", "0.02", "--model-concurrency", "4", "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    names = [c["name"] for c in results["contenders"]]
    assert names[0] == "direct" and names[1].startswith("evenhand")
    points = {(r["mode"], r["concurrency"], r["contender"]): r for r in results["rows"]}
    assert set(points) == {(mode, c, name) for mode in ("plain", "stream") for c in (1, 4) for name in names} | {
        (mode, 4, name) for mode in ("plain-model", "stream-model") for name in names}
    for mode in ("plain-model", "stream-model"):  # the upstream took a model's time: 20 ms +- 50%
        assert points[(mode, 4, "direct")]["p50_ms"] >= 10 and points[("plain", 4, "direct")]["p50_ms"] < 10
    for (mode, c, name), row in points.items():
        assert row["requests"] > 0 and row["errors"] == 0, row
        if name == "direct":
            assert row["cpu_ms_per_request"] is None and row["added_p50_ms"] is None
        else:
            assert row["cpu_ms_per_request"] > 0 and row["added_p50_ms"] is not None
    assert {v["contender"] for v in results["targets"]} == {names[1]}
    assert "| conc. | contender | req/s |" in done.stdout and "Targets, for" in done.stdout
    assert results["machine"]["cores"] >= 1 and results["settings"]["driver_used"] == ["aio"]


def test_the_readme_section_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n")
    update_readme("new table", readme)
    assert readme.read_text() == f"# Title\n\nbefore\n{BEGIN}\nnew table\n{END}\nafter\n"


def test_slow_contenders_get_longer_points_within_a_bound():
    from argparse import Namespace

    from loadtest.run import MAX_STRETCH, window

    args = Namespace(duration=3.0)
    fast = [{"contender": "evenhand", "mode": "plain", "throughput": 2000.0}]
    slow = [{"contender": "litellm", "mode": "plain", "throughput": 30.0}]
    assert window(args, "evenhand", "plain", 64, fast) == 3.0
    assert window(args, "litellm", "plain", 16, slow) == 10 * 16 / 30.0
    assert window(args, "litellm", "plain", 64, slow) == MAX_STRETCH * 3.0
    assert window(args, "litellm", "stream", 64, slow) == 3.0  # nothing known yet in this mode
