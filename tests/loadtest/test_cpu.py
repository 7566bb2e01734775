import subprocess
import sys

from loadtest.cpu import descendants, process_cpu_seconds, tree_cpu_seconds

# A parent that starts a child; the child burns 0.3 s of CPU, says so, and waits for stdin to close.
CHILD = "import sys, time\nwhile time.process_time() < 0.3: pass\nprint('burnt', flush=True)\nsys.stdin.read()"
PARENT = f"import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', {CHILD!r}], stdin=sys.stdin)\np.wait()"


def test_tree_cpu_counts_the_children():
    root = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout.readline().strip() == "burnt"
        tree = descendants(root.pid)
        assert tree[0] == root.pid and len(tree) == 2
        assert tree_cpu_seconds(root.pid) >= 0.3
        assert process_cpu_seconds(root.pid) < 0.3  # the burning happened in the child
    finally:
        root.stdin.close()
        root.wait(timeout=30)


def test_a_reaped_process_counts_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    assert process_cpu_seconds(gone.pid) == 0.0
    assert descendants(gone.pid) == [gone.pid]  # only the root is returned, never another's children
