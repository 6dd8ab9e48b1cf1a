"""Browser load test: 8 sessions at once on one local server, as a class would use it.

    .venv/bin/python benchmarks/load_test.py [seconds] [roles]

Starts the app on 127.0.0.1 and opens 8 browser contexts (separate sessions) in one headless
chromium: 2 train the toy task on the Train page, 3 step through the Convolution page (Next,
Back and the step slider) and 3 use the Look inside page (switch layer, page of channels).
An interaction's latency runs from the action until the expected change is on screen and the
app is idle again. Every page is watched for Streamlit exceptions and browser page errors.
Prints counts, p50 and p95 per kind and overall, and the errors; exits 1 if there was any
error. The sessions open their pages together, wait until all are open, then interact for
``seconds`` (default 60); the whole run is capped at 3 minutes. ``roles`` is one letter per
session, t(rain), c(onvolution) or i(nspector): the default ttccciii is the class of 8; ``c``
or ``i`` alone measures one session with the server to itself, for comparison.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app  # noqa: E402

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
HARD_LIMIT_S = 180.0
OPEN_TIMEOUT_MS = 120_000  # the first sessions import TensorFlow and load the membrane model
STEP_TIMEOUT_MS = 60_000
LAYERS = ["enc1_conv2", "enc2_conv1", "enc3_conv2", "bottleneck_conv1", "dec3_concat", "dec2_conv2",
          "dec1_conv1", "out"]
TRAIN_EPOCHS = 20
CLASS = "ttccciii"  # 2 train, 3 step through convolution, 3 inspect


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Session:
    """One browser context (one Streamlit session) with its own timing and error checks."""

    def __init__(self, name: str, page, results: Results, deadline: float):
        self.name, self.page, self.results, self.deadline = name, page, results, deadline
        self.main = page.get_by_test_id("stMainBlockContainer")
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.on("pageerror", lambda e: results.errors.append(f"{name}: page error: {e}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, msg) -> None:
        # Failed loads are judged by _response and the route filter, which know the URL.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.results.errors.append(f"{self.name}: console error: {msg.text[:300]}")

    def _response(self, response) -> None:
        if response.status < 400:
            return
        if response.status == 404 and re.search(r"/\w+/_stcore/(health|host-config)$", response.url):
            self.results.ignored["Streamlit's probe of a page-prefixed /_stcore URL (404)"] += 1
            return
        self.results.errors.append(f"{self.name}: HTTP {response.status} for {response.url}")

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    async def idle(self, timeout: float = STEP_TIMEOUT_MS) -> None:
        await self.page.wait_for_selector(IDLE, timeout=timeout)

    async def timed(self, kind: str, action, expect, timeout: float = STEP_TIMEOUT_MS,
                    detail: str = "") -> bool:
        """Run ``action``, wait for ``expect`` (a locator, or a coroutine function) and for idle;
        record the latency, then check the page for Streamlit exceptions."""
        t0 = time.perf_counter()
        try:
            await action()
            if callable(expect):
                await expect()
            else:
                await expect.first.wait_for(state="visible", timeout=timeout)
            await self.idle(timeout)
        except Exception as exc:  # a timeout here is a failed interaction, not a crash
            self.results.errors.append(f"{self.name}: {kind} {detail} failed: {type(exc).__name__}: "
                                       f"{str(exc).splitlines()[0][:200]}")
            return False
        except asyncio.CancelledError:  # the 3-minute cap arrived during this interaction
            age = time.perf_counter() - t0
            if age > timeout / 1000:
                self.results.errors.append(f"{self.name}: {kind} {detail} hung for {age:.0f} s")
            else:
                self.results.notes.append(f"{self.name}: '{kind}', {age:.0f} s in, was cut off by "
                                          "the 3-minute cap (not counted)")
            raise
        self.results.latencies[kind].append(time.perf_counter() - t0)
        n = await self.page.locator(EXCEPTION).count()
        if n:
            text = await self.page.locator(EXCEPTION).first.inner_text()
            self.results.errors.append(f"{self.name}: {kind}: Streamlit exception: {text[:300]}")
            return False
        return True

    async def open(self, url: str, ready) -> bool:
        async def go():
            await self.page.goto(url, timeout=OPEN_TIMEOUT_MS)
        return await self.timed("open page", go, ready, timeout=OPEN_TIMEOUT_MS)


async def convolution(s: Session, url: str, phase) -> None:
    """Step through the slide: Next to the end, Back to the start, the slider both ways."""
    if not await phase(s, s.open(f"{url}/convolution", s.main.get_by_text("Step 1: output pixel"))):
        return
    box = s.main.get_by_test_id("stSlider").filter(has_text="Step: which output pixel")
    await box.wait_for(timeout=STEP_TIMEOUT_MS)
    total = int(await box.locator('input[type="range"]').get_attribute("max"))
    step, direction, i = 1, 1, 0
    while s.left() > 0:
        if not 1 <= step + direction <= total:
            direction = -direction
        step += direction
        expect = s.main.get_by_text(f"Step {step}: output pixel")
        if i % 3 == 2:  # every third move uses the slider's keyboard control instead
            key = "ArrowRight" if direction > 0 else "ArrowLeft"
            ok = await s.timed("convolution: step slider",
                               lambda key=key: box.locator('input[type="range"]').press(key), expect)
        else:
            button = "Next" if direction > 0 else "Back"
            ok = await s.timed(f"convolution: {button}", s.main.get_by_role(
                "button", name=button, exact=True).click, expect)
        if not ok:
            return
        i += 1


async def inspector(s: Session, url: str, phase, offset: int) -> None:
    """Switch between layers of the pretrained membrane model, and page through wide ones."""
    plots = s.main.locator(".js-plotly-plot")
    if not await phase(s, s.open(f"{url}/inspector", plots.filter(has_text="enc1_conv1: channels 0 to"))):
        return
    i = offset
    while s.left() > 0:
        name = LAYERS[i % len(LAYERS)]
        i += 1

        async def pick(name=name):
            box = s.main.get_by_test_id("stSelectbox").filter(has_text="Layer, in the order of the U")
            await box.locator("input").click()
            await box.locator("input").fill(f"{name} (")  # "(kind": not another layer's "skip to"
            await s.page.keyboard.press("Enter")
        if not await s.timed("inspector: switch layer", pick,
                             plots.filter(has_text=f"{name}: channels 0 to"), detail=f"to {name}"):
            return
        pager = s.main.get_by_test_id("stSlider").filter(has_text="Page of channels")
        if await pager.count() and s.left() > 0:
            thumb = pager.locator('input[type="range"]')
            if not await s.timed("inspector: page of channels", lambda t=thumb: t.press("ArrowRight"),
                                 plots.filter(has_text=re.compile(rf"{name}: channels [1-9]\d* to"))):
                return


async def train(s: Session, url: str, phase) -> None:
    """Start a short toy run, wait for it to finish, reset, and start again while time is left."""
    if not await phase(s, s.open(f"{url}/train", s.main.get_by_text("Press Start to train"))):
        return
    epochs = s.main.get_by_label("Epochs", exact=True)

    async def set_epochs():
        await epochs.fill(str(TRAIN_EPOCHS))
        await epochs.press("Enter")

    async def epochs_taken():  # the input keeps the typed value once the server has it
        await s.idle()
        await s.page.wait_for_function(
            "n => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') "
            "=== 'Epochs' && i.value === String(n))", arg=TRAIN_EPOCHS)
    if not await s.timed("train: set epochs", set_epochs, epochs_taken):
        return
    start = s.main.get_by_role("button", name="Start", exact=True)
    running = s.main.get_by_text(re.compile(
        rf"^(Training: epoch \d+ of {TRAIN_EPOCHS}|Waiting for a free slot|Done: {TRAIN_EPOCHS} )"))
    done = s.main.get_by_text(f"Done: {TRAIN_EPOCHS} epochs.")
    while s.left() > 5:
        t0 = time.perf_counter()
        if not await s.timed("train: start", start.click, running):
            return
        try:
            await done.wait_for(timeout=max(1000, s.left() * 1000))
        except Exception:
            s.results.notes.append(f"{s.name}: a run was still going at the end")
            return
        s.results.latencies[f"train: whole {TRAIN_EPOCHS}-epoch run"].append(time.perf_counter() - t0)
        if not await s.timed("train: reset", s.main.get_by_role("button", name="Reset", exact=True).click,
                             s.main.get_by_text("Press Start to train")):
            return


def server_log(url: str, results: Results) -> None:
    """Tracebacks in the server's log (a training thread's, say) are errors too."""
    log = ROOT / ".pytest_cache" / f"streamlit-{url.rsplit(':', 1)[1]}.log"
    if not log.is_file():
        results.notes.append("no server log to check (running_app keeps one in .pytest_cache/)")
        return
    text = log.read_text(errors="replace")
    for block in text.split("Traceback (most recent call last):")[1:]:
        heads = [line for line in block.splitlines() if line and not line.startswith(" ")]
        results.errors.append(f"server log: traceback ending {heads[0][:300] if heads else '?'}")


def report(results: Results, roles: str, phase: float, wall: float) -> int:
    print(f"\n{len(roles)} session(s) at once on one server: {roles.count('t')} train, "
          f"{roles.count('c')} step through Convolution, {roles.count('i')} use Look inside.\n"
          f"They opened their pages together, then interacted for {phase:.0f} s ({wall:.0f} s in all).\n")
    print(f"{'interaction':36s} {'count':>6s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s}")
    everything = []
    for kind in sorted(results.latencies):
        v = np.array(results.latencies[kind])
        if not kind.startswith("train: whole") and kind != "open page":
            everything.extend(v)
        print(f"{kind:36s} {len(v):6d} {np.percentile(v, 50):7.2f} {np.percentile(v, 95):7.2f} "
              f"{v.max():7.2f}")
    if everything:
        v = np.array(everything)
        print(f"{'all interactions (not opens, runs)':36s} {len(v):6d} {np.percentile(v, 50):7.2f} "
              f"{np.percentile(v, 95):7.2f} {v.max():7.2f}")
    for note in results.notes:
        print("note:", note)
    for what, n in results.ignored.items():
        print(f"not counted as errors: {n} x {what}")
    print(f"\nerrors: {len(results.errors)}")
    for e in results.errors:
        print("  ", e)
    return 1 if results.errors or not everything else 0


async def main(seconds: float, roles: str) -> int:
    from playwright.async_api import async_playwright

    results = Results()
    began = time.perf_counter()

    async def local_only(route):
        if route.request.url.startswith("http://127.0.0.1:") or route.request.url.startswith("ws://127.0.0.1:"):
            await route.continue_()
        else:  # the app must work offline: external fetches (an icon from a font CDN) are refused
            results.ignored[f"blocked request to {route.request.url.split('/')[2]}"] += 1
            await route.abort()
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)  # where running_app keeps the server's log
    with running_app({"STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}) as url:
        assert url.startswith("http://127.0.0.1:"), url
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            barrier = asyncio.Barrier(len(roles))
            phase_began = []

            async def phase(s: Session, opening) -> bool:
                """Open the page, then wait until all are open: the timed phase starts together."""
                try:
                    return await opening
                finally:
                    await barrier.wait()
                    phase_began.append(time.perf_counter())
                    s.deadline = time.perf_counter() + seconds

            async def guarded(s: Session, job) -> None:
                try:
                    await job
                except Exception as exc:  # an unexpected failure is an error of the run, not a crash
                    results.errors.append(f"{s.name}: {type(exc).__name__}: {str(exc)[:300]}")

            t0 = time.perf_counter()
            jobs = []
            for i, kind in enumerate(roles):  # a context per session: own cookies, own Streamlit session
                ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
                await ctx.route("**/*", local_only)
                page = await ctx.new_page()
                s = Session(f"{ {'t': 'train', 'c': 'conv', 'i': 'inspector'}[kind]}{i}", page, results,
                            deadline=t0 + HARD_LIMIT_S)
                jobs.append(guarded(s, train(s, url, phase) if kind == "t" else convolution(
                    s, url, phase) if kind == "c" else inspector(s, url, phase, offset=3 * i)))
            budget = HARD_LIMIT_S - 15 - (time.perf_counter() - began)  # 15 s to close everything
            try:
                await asyncio.wait_for(asyncio.gather(*jobs), budget)
            except TimeoutError:  # the sessions' interactions in flight said what they were doing
                pass
            end = time.perf_counter()
            wall, phase_s = end - t0, end - min(phase_began, default=end)
            await browser.close()
    server_log(url, results)  # complete now that the server has stopped
    return report(results, roles, phase_s, wall)


if __name__ == "__main__":
    args = sys.argv[1:]
    roles = args[1] if len(args) > 1 else CLASS
    if not roles or set(roles) - set("tci"):
        sys.exit(f"roles must be letters t, c and i, not {roles!r}")
    sys.exit(asyncio.run(main(float(args[0]) if args else 60.0, roles)))
