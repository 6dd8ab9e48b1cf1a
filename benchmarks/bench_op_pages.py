"""Re-run time per interaction on the operation pages, for a 32x32 input, measured with AppTest.

    .venv/bin/python benchmarks/bench_op_pages.py [rounds]

For each page (Convolution, Filters, Channels, Pooling & up-sampling, Skip connections) the
shared input is set to a 32x32 sample, then every slider, select box, radio, toggle, checkbox
and button on the page is changed in turn, ``rounds`` times (default 5), and each re-run is
timed. Prints the median and 95th percentile per page, a re-run with nothing changed (the
floor), the CPU time the process spent per re-run (median, p95: a figure that other work
on a busy machine does not inflate), and the slowest control. A page that raises is
reported, not timed. The target is 150 ms; this script prints, it never asserts.
AppTest runs the script in-process and builds its element tree, so the figures include a
little more than a browser session's re-run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from streamlit.testing.v1 import AppTest  # noqa: E402

PAGES = ["pages/convolution.py", "pages/filters.py", "pages/channels.py", "pages/pooling.py",
         "pages/skips.py"]
SIZE_LABEL = "Grid size (pixels per side)"
TARGET_MS = 150
SKIP_LABELS = ("Clear drawing",)


def _set_input(at: AppTest) -> None:
    """32x32 grid of a generated sample, whatever the page calls its input widgets."""
    for r in at.radio:
        if r.label == "Input image" and r.value != "Sample":
            r.set_value("Sample").run()
    for s in at.selectbox:
        if s.label == "Sample" and s.value not in ("letter", "shapes", "membrane"):
            s.set_value("letter").run()
    for s in at.slider:
        if s.label == SIZE_LABEL and s.value != 32:
            s.set_value(32).run()


def _nudges(at: AppTest):
    """(name, action) for every control; each action changes the control's value once."""
    for s in at.slider:
        if s.disabled or s.label == SIZE_LABEL or isinstance(s.value, tuple):
            continue
        lo, hi, step = s.min, s.max, s.step or 1
        v = s.value
        new = v + step if v + step <= hi else v - step
        if new < lo:
            continue
        yield f"slider {s.key or s.label}", (lambda s=s, new=new: s.set_value(new))
    for group in (at.selectbox, at.radio):
        for w in group:
            if w.disabled or w.label in ("Sample", "Input image") or len(w.options) < 2:
                continue
            opts = list(w.options)
            new = opts[(opts.index(str(w.value)) + 1) % len(opts)] if str(w.value) in opts else opts[0]
            yield f"{type(w).__name__.lower()} {w.key or w.label}", (lambda w=w, new=new: w.set_value(new))
    for group in (at.toggle, at.checkbox):
        for w in group:
            if not w.disabled:
                yield f"{type(w).__name__.lower()} {w.key or w.label}", (lambda w=w: w.set_value(not w.value))
    for b in at.button:
        if not b.disabled and b.label not in SKIP_LABELS:
            yield f"button {b.key or b.label}", (lambda b=b: b.click())


def bench_page(path: str, rounds: int) -> dict | None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(path).run()
    if at.exception:
        return None
    _set_input(at)
    times: dict[str, list[float]] = {}
    cpu: list[float] = []  # CPU time of this process: what the re-run costs, whatever the load
    for _ in range(rounds):
        for name in [n for n, _ in _nudges(at)]:
            action = dict(_nudges(at)).get(name)  # widgets come and go: look it up afresh
            if action is None:
                continue
            action()
            t0, c0 = time.perf_counter(), time.process_time()
            at.run()
            times.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            if at.exception:
                print(f"  {path}: {name} raised {at.exception[0].value}")
                break
    if not times:
        return None
    idle = []
    for _ in range(max(3, rounds)):
        t0 = time.perf_counter()
        at.run()  # nothing changed: the floor set by Streamlit, AppTest and the machine's load
        idle.append((time.perf_counter() - t0) * 1000)
    every = np.concatenate([np.asarray(v) for v in times.values()])
    slow = max(times, key=lambda n: np.median(times[n]))
    return {"median": float(np.median(every)), "p95": float(np.percentile(every, 95)),
            "n": int(every.size), "slowest": slow, "slowest_ms": float(np.median(times[slow])),
            "idle": float(np.median(idle)), "cpu": float(np.median(cpu)),
            "cpu95": float(np.percentile(cpu, 95))}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"AppTest re-run per interaction, 32x32 input, {rounds} rounds (target < {TARGET_MS} ms)")
    print(f"{'page':24} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'no-op ms':>9} {'cpu ms':>7} "
          f"{'cpu p95':>8}  slowest control (median ms)")
    for path in PAGES:
        if not (ROOT / path).exists():
            print(f"{path:24} missing")
            continue
        r = bench_page(path, rounds)
        if r is None:
            print(f"{path:24} not timed: the page raised an exception")
            continue
        print(f"{path:24} {r['n']:>4} {r['median']:>10.0f} {r['p95']:>8.0f} {r['idle']:>9.0f} "
              f"{r['cpu']:>7.0f} {r['cpu95']:>8.0f}  "
              f"{r['slowest']} ({r['slowest_ms']:.0f})")


if __name__ == "__main__":
    main()
