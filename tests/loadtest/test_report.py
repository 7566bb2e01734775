from loadtest import report


def m(round_, contender, *, mode="plain", c=32, rps=1000.0, p50=1.0, p99=5.0, cpu=0.3, errors=0):
    return {
        "round": round_, "mode": mode, "concurrency": c, "contender": contender, "requests": int(rps * 3), "errors": errors,
        "throughput": rps, "p50_ms": p50, "p90_ms": p50 * 2, "p99_ms": p99, "cpu_ms_per_request": cpu, "driver_cpu_seconds": 0.3,
    }


def by_contender(rows, name, mode="plain", c=32):
    return next(r for r in rows if r["contender"] == name and r["mode"] == mode and r["concurrency"] == c)


def test_added_latency_and_ratios_are_paired_within_a_round_then_medianed():
    ms = [
        m(1, "direct", p50=1.0, p99=4.0, cpu=None, rps=9000),
        m(1, "evenhand-default", p50=1.5, p99=6.0, rps=2000),
        m(1, "litellm", p50=200, p99=400, cpu=8.0, rps=100),
        # a noisier round: everything slower, the difference the same
        m(2, "direct", p50=3.0, p99=10.0, cpu=None, rps=6000),
        m(2, "evenhand-default", p50=3.5, p99=12.0, rps=1500),
        m(2, "litellm", p50=300, p99=500, cpu=9.0, rps=50),
        m(3, "direct", p50=2.0, p99=8.0, cpu=None, rps=8000),
        m(3, "evenhand-default", p50=2.5, p99=10.0, rps=1800),
        m(3, "litellm", p50=250, p99=450, cpu=8.5, rps=90),
    ]
    rows = report.aggregate(ms, ["direct", "evenhand-default", "litellm"])
    assert [r["contender"] for r in rows] == ["direct", "evenhand-default", "litellm"]
    eh = by_contender(rows, "evenhand-default")
    assert eh["added_p50_ms"] == 0.5 and eh["added_p99_ms"] == 2.0
    assert eh["throughput"] == 1800 and eh["p50_ms"] == 2.5 and eh["rounds"] == 3
    assert eh["x_litellm"] == 20.0  # per round: 20x, 30x, 20x
    assert by_contender(rows, "direct")["added_p50_ms"] is None


def test_targets_say_met_and_not_met():
    ms = []
    for c in (1, 32):
        ms += [
            m(1, "direct", c=c, p50=1.0, p99=4.0, cpu=None),
            m(1, "evenhand-default", c=c, p50=1.4, p99=10.0, cpu=0.4 if c == 32 else 0.6, rps=2000),
            m(1, "evenhand-default-w2", c=c, rps=2600),
            m(1, "litellm", c=c, rps=100, cpu=8.0),
            m(1, "direct", mode="stream", c=c, cpu=None),
            m(1, "evenhand-default", mode="stream", c=c, cpu=1.0),
        ]
    verdicts = {v["target"]: v for v in report.targets(report.aggregate(ms))}
    cpu_plain = next(v for t, v in verdicts.items() if "non-streaming request" in t)
    assert cpu_plain["met"] is False and "0.600" in cpu_plain["figure"]
    assert next(v for t, v in verdicts.items() if "streaming request" in t and "non-" not in t)["met"] is True
    latency = next(v for t, v in verdicts.items() if "added latency" in t and "(non-streaming)" in t)
    assert latency["met"] is False and "+0.40" in latency["figure"] and "+6.00" in latency["figure"]
    assert next(v for t, v in verdicts.items() if "LiteLLM" in t)["met"] is True
    assert next(v for t, v in verdicts.items() if "--workers 2" in t)["met"] is True  # 2600 / 2000 = 1.3x
    assert "| **no** |" in report.targets_table(list(verdicts.values()))


def test_without_the_default_policy_the_nearest_evenhand_is_judged_and_named():
    rows = report.aggregate([m(1, "direct", cpu=None), m(1, "evenhand-nopolicy")])
    assert report.evenhand_under_test(rows) == "evenhand-nopolicy"
    assert all(v["contender"] == "evenhand-nopolicy" for v in report.targets(rows))


def test_table_has_one_line_per_point_and_contender():
    rows = report.aggregate([m(1, "direct", cpu=None), m(1, "evenhand-default"), m(1, "direct", c=1, cpu=None), m(1, "evenhand-default", c=1)])
    lines = [ln for ln in report.table(rows).splitlines() if ln.startswith("| ") and "contender" not in ln]
    assert len(lines) == 4
    assert lines[0].startswith("| 1 | direct |")
