"""Backpropagation step by step: the order, the numbers, the files and the HTML page in headless Chromium.

The page is tested in Debian's Chromium, started headless. The test copies the page and adds two small scripts: one
at the top of ``<head>`` that records uncaught errors, one at the end of ``<body>`` that reads which step is
visible, clicks Next (a real ``click()`` on the button, handled by the page's own script), reads again, and writes
what it saw into a ``<pre>``. ``--dump-dom`` prints the resulting document; ``--enable-logging=stderr`` prints the
console, which must hold no error (uncaught errors and ``console.error`` calls are also collected in the page). Chromium missing is a failure that says how to install it, never a skip.
"""

import html
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symslow as ts
from symslow.gradients import backprop_order
from symslow.viz import backprop_steps, render_svg, save_steps
from symslow.viz.render import render

from test_viz import sigmoid, tutorial_mlp


def reached_from(loss):
    """The nodes on a path to ``loss``, found by a plain search (independent of symslow's own orders)."""
    seen, stack = {}, [loss]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.input_nodes)
    return list(seen.values())


def assert_consumers_first(nodes, loss):
    position = {id(n): k for k, n in enumerate(nodes)}
    for node in nodes:
        for consumer in node.consumers:
            if id(consumer) in position:
                assert position[id(consumer)] < position[id(node)], (consumer.name, node.name)


def test_mlp_steps_one_per_node_in_a_correct_order():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    nodes = [s.node for s in steps[:-1]]
    reached = reached_from(m["J"])
    assert sorted(n.id for n in nodes) == sorted(n.id for n in reached)  # each reached node exactly once
    assert nodes[0] is m["J"] and steps[0].kind == "start" and float(steps[0].value) == 1.0
    assert steps[-1].kind == "end" and steps[-1].node is None and len(steps[-1].done) == len(reached)
    assert_consumers_first(nodes, m["J"])
    assert nodes == backprop_order([m["J"]])
    for k, step in enumerate(steps[:-1]):
        assert step.done == nodes[:k] and step.remaining == nodes[k + 1:]
        assert step.consumers == list(dict.fromkeys(c for c in step.node.consumers if c in nodes))


def test_mlp_step_values_equal_gradients_and_hand_written_backprop():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    session = ts.Session(graph=m["graph"])
    for step in steps[1:-1]:
        (reference,) = ts.gradients(m["J"], [step.node])  # built anew, independently of the steps' nodes
        np.testing.assert_allclose(step.value, session.run(reference, m["feed"]), rtol=1e-10, atol=1e-12)
        if len(step.contributions) > 0:
            total = sum(np.asarray(c.value) for c in step.contributions)
            np.testing.assert_allclose(total, step.value, rtol=1e-10, atol=1e-12)
    # the tutorial's backpropagation by hand, in NumPy
    X, c = m["feed"][m["X"]], m["feed"][m["c"]]
    W1, b1 = m["W_hidden"].initial_value, m["b_hidden"].initial_value
    W2, b2 = m["W_output"].initial_value, m["b_output"].initial_value
    h = sigmoid(X @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    dz = p - c
    dh = dz @ W2.T
    dz1 = dh * h * (1 - h)
    by_node = {id(s.node): s.value for s in steps[:-1]}
    for node, expected in [(m["W_output"], h.T @ dz), (m["b_output"], dz.sum(0)), (m["W_hidden"], X.T @ dz1),
                           (m["b_hidden"], dz1.sum(0)), (m["X"], dz1 @ W1.T), (m["p_hidden"], dh)]:
        np.testing.assert_allclose(by_node[id(node)], expected, rtol=1e-9, atol=1e-12)


def test_consumers_at_different_depths():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        y = ts.sigmoid(x, name="y")
        J = ts.reduce_sum(ts.multiply(x, y) + y, name="J")  # x feeds multiply and y; y feeds multiply and add
    data = np.array([-1.0, 0.5, 2.0])
    steps = backprop_steps(J, {x: data})
    nodes = [s.node for s in steps[:-1]]
    assert_consumers_first(nodes, J)
    assert [n.name for n in nodes].index("y") < [n.name for n in nodes].index("x")
    s = sigmoid(data)
    by_name = {step.node.name: step for step in steps[:-1]}
    # closed forms: J = Σ x σ(x) + σ(x); ∂J/∂y = x + 1, ∂J/∂x = σ + (x + 1) σ (1 - σ)
    np.testing.assert_allclose(by_name["y"].value, data + 1)
    np.testing.assert_allclose(by_name["x"].value, s + (data + 1) * s * (1 - s))
    x_step = by_name["x"]
    assert {c.consumer.name for c in x_step.contributions} == {"multiply", "y"}
    contributions = {c.consumer.name: c for c in x_step.contributions}
    np.testing.assert_allclose(contributions["multiply"].value, s)
    np.testing.assert_allclose(contributions["y"].value, (data + 1) * s * (1 - s))
    assert "∂J/∂y·y·(1 - y)" in contributions["y"].formula
    assert x_step.formula.startswith("∂J/∂x = ") and " + " in x_step.formula
    assert "∂J/∂x" in x_step.text and "step" in x_step.text


def test_a_node_used_twice_by_one_consumer():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(x * x, name="J")
    steps = backprop_steps(J, {x: np.array([3.0, -2.0])})
    x_step = steps[-2]
    assert x_step.node is x and [c.index for c in x_step.contributions] == [0, 1]
    np.testing.assert_allclose(x_step.value, [6.0, -4.0])
    np.testing.assert_allclose(sum(c.value for c in x_step.contributions), [6.0, -4.0])


def test_steps_without_feed_are_symbolic():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"])
    assert all(s.value is None for s in steps)
    w_step = next(s for s in steps if s.node is m["W_output"])
    assert w_step.formula == "∂J/∂W_output = sigmoid<SUP>T</SUP> @ ∂J/∂matmul_1".replace("<SUP>T</SUP>", "ᵀ")


def test_step_diagrams_highlight_the_node_and_label_the_edges():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    step = next(s for s in steps if s.node is m["p_hidden"])
    source = step.diagram.source
    current = re.search(rf"\tn{m['p_hidden'].id} \[(.*)\]", source)[1]
    assert 'fillcolor="#ffff99"' in current and "now, step" in current
    consumer = step.consumers[0]
    edge = re.search(rf"\tn{m['p_hidden'].id} -> n{consumer.id} \[(.*)\]", source)[1]
    assert "∂J/∂matmul_1 @ W_outputᵀ" in edge
    for done in step.done:
        assert "✓ step" in re.search(rf"\tn{done.id} \[(.*)\]", source)[1]
    assert "still to do: " + ", ".join(n.name for n in step.remaining[:3]) in source


def test_save_steps_writes_svgs_and_a_self_contained_page(tmp_path):
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    paths = save_steps(steps, tmp_path, formats=("svg", "png"))
    svgs = sorted(tmp_path.glob("step_*.svg"))
    assert len(svgs) == len(steps) and len(list(tmp_path.glob("step_*.png"))) == len(steps)
    for path in svgs:
        assert ET.parse(path).getroot().tag.endswith("svg")
    assert (tmp_path / "step_01.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert tmp_path / "index.html" in paths
    assert page.count("<section class=\"step\"") == len(steps) and page.count("<svg") == len(steps)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "the page loads something from the network"
    assert "<link" not in page and "@import" not in page and "url(http" not in page


def test_gif(tmp_path):
    from PIL import Image

    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x))
    steps = backprop_steps(J, {x: [1.0]})
    save_steps(steps, tmp_path, gif=True)
    with Image.open(tmp_path / "steps.gif") as gif:
        assert gif.n_frames == len(steps)


# the page in a browser ------------------------------------------------------------------------------------------
def chromium_path():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is missing: the backpropagation page is tested in headless Chromium. Install it with "
                    "'sudo apt-get install chromium' (Debian), or run 'make test' as root, which installs it.")
    return path


ERROR_CATCHER = """<script>window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
var consoleError = console.error;
console.error = function () { window.__errors.push(Array.prototype.join.call(arguments, " ")); consoleError.apply(console, arguments); };
console.log("symslow-console-check");</script>"""

DRIVER = """<script>(function () {
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll("section.step"), function (s) {
      return getComputedStyle(s).display !== "none" && s.getBoundingClientRect().height > 0;
    }).map(function (s) { return s.getAttribute("data-step"); });
  }
  var counter = document.getElementById("counter");
  var seen = {first: visible(), firstCounter: counter.textContent};
  document.getElementById("next").click();
  seen.afterNext = visible();
  seen.afterNextCounter = counter.textContent;
  var slider = document.getElementById("slider");
  slider.value = "4";
  slider.dispatchEvent(new Event("input"));
  seen.afterSlider = visible();
  document.getElementById("previous").click();
  seen.afterPrevious = visible();
  seen.errors = window.__errors;
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
})();</script>"""


def run_chromium(page, tmp_path, fragment=""):
    profile = tmp_path / "profile"
    command = [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom",
               page.as_uri() + fragment]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_page_in_headless_chromium_shows_step_1_then_step_2_after_next(tmp_path):
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    save_steps(steps, tmp_path / "steps")
    page = (tmp_path / "steps" / "index.html").read_text(encoding="utf-8")
    tested = tmp_path / "steps" / "tested.html"
    tested.write_text(page.replace("<head>", "<head>" + ERROR_CATCHER, 1).replace("</body>", DRIVER + "</body>", 1),
                      encoding="utf-8")
    dom, console = run_chromium(tested, tmp_path)
    assert "symslow-console-check" in console, "Chromium's console log is not reaching stderr: " + console[-1000:]
    assert "Uncaught" not in console and ":ERROR:CONSOLE" not in console, console
    seen = json.loads(html.unescape(re.search(r'<pre id="test-result">(.*?)</pre>', dom, re.S)[1]))
    count = len(steps)
    assert seen["first"] == ["1"] and seen["firstCounter"] == f"Step 1 of {count}"
    assert seen["afterNext"] == ["2"] and seen["afterNextCounter"] == f"Step 2 of {count}"
    assert seen["afterSlider"] == ["4"] and seen["afterPrevious"] == ["3"]
    assert seen["errors"] == []


def test_page_opens_the_step_named_in_its_address(tmp_path):
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x))
    steps = backprop_steps(J, {x: [1.0, 2.0]})
    save_steps(steps, tmp_path / "steps")
    dom, console = run_chromium(tmp_path / "steps" / "index.html", tmp_path, "#3")
    assert re.search(r'data-current="3"', dom), dom[:500]
    assert "Uncaught" not in console


@pytest.mark.parametrize("setting", ["after an optimizer", "inside a name scope"])
def test_contributions_are_found_when_the_graph_has_other_gradients(setting):
    m = tutorial_mlp()
    with m["graph"].as_default():
        ts.train.GradientDescentOptimizer(0.1).minimize(m["J"])  # gradient nodes under the same scope names
        if setting == "inside a name scope":
            with ts.name_scope("outer"):
                steps = backprop_steps(m["J"], m["feed"])
        else:
            steps = backprop_steps(m["J"], m["feed"])
    for step in steps[1:-1]:
        assert step.contributions and all(c.share is not None for c in step.contributions)
        np.testing.assert_allclose(sum(np.asarray(c.value) for c in step.contributions), step.value, rtol=1e-10)


def test_notebook_display_of_steps():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x))
    steps = backprop_steps(J, {x: [1.0]})
    page = steps._repr_html_()
    assert page.count("<svg") == len(steps) and page.count('class="symslow-steps in-a-cell" id="symslow-steps-') == 1
    assert backprop_steps(J)._repr_html_().split('id="')[1] != page.split('id="')[1]  # two outputs, two ids
    bundle = steps[1]._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg") and bundle["text/plain"] == steps[1].text


# one layout for all steps ----------------------------------------------------------------------------------------
def node_shapes(svg):
    """{Graphviz node id: the outline of its shape} in an SVG Graphviz drew."""
    return dict(re.findall(r'<title>(n\d+|legend)</title>\s*<(?:path|polygon)[^>]*?\b(?:d|points)="([^"]+)"', svg))


def svg_size(svg):
    return re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()


def test_every_step_keeps_every_node_in_its_place():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    for diagrams in ([s.bare_diagram for s in steps], [s.diagram for s in steps]):  # as the page and the files
        svgs = [render_svg(d) for d in diagrams]
        shapes = [node_shapes(svg) for svg in svgs]
        assert len(shapes[0]) == len(steps) - 1  # every node on the way to the loss
        assert all(s == shapes[0] for s in shapes), "a node moved between steps"
        assert len({svg_size(svg) for svg in svgs}) == 1, "the pictures differ in size"
    # what changes is the highlighting: the node of step k is drawn in the colours of the node processed now
    for step, svg in zip(steps[:-1], (render_svg(s.bare_diagram) for s in steps[:-1])):
        drawn = re.search(rf'<title>n{step.node.id}</title>\s*<(?:path|polygon) fill="([^"]+)" stroke="([^"]+)"', svg)
        assert drawn.groups() == ("#ffff99", "#d7301f"), step.number
    # no node's text spills out of its box: Graphviz warns when a label is larger than a fixed size
    for step in steps:
        done = subprocess.run(["neato", "-n2", "-Tsvg"], input=step.diagram.source, capture_output=True, text=True)
        assert done.returncode == 0 and "too small" not in done.stderr, done.stderr


def test_the_page_writes_each_caption_once_and_the_gif_beside_it(tmp_path):
    from PIL import Image

    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(x - ts.sigmoid(x), name="J")
    steps = backprop_steps(J, {x: [0.0, 1.0]})
    paths = save_steps(steps, tmp_path)
    assert tmp_path / "steps.gif" in paths and 'href="steps.gif"' in (tmp_path / "index.html").read_text()
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section class="step".*?</section>', page, re.S)
    assert len(sections) == len(steps)
    for step, section in zip(steps, sections):
        text = html.unescape(re.sub(r"<[^>]+>", " ", section))
        caption = html.unescape(re.sub(r"<[^>]+>", "", step.title))
        assert text.count(caption) == 1, (step.number, text)
        assert f"Step {step.number} of" not in text  # the diagram carries no caption of its own on the page
    assert "Step 2 of 5" in render_svg(steps[1].diagram)  # the step files do: they stand alone
    with Image.open(tmp_path / "steps.gif") as gif:
        assert gif.n_frames == len(steps)
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB")))
    # below the captions, which all have three lines, a node's box is at the same pixels in every frame: the
    # loss J, drawn coral in every step but the first (where it is the node processed now)
    coral = [np.argwhere(np.all(np.abs(f.astype(int) - [251, 128, 114]) < 8, axis=2)) for f in frames[1:]]
    assert all(len(c) > 50 for c in coral)
    boxes = {(tuple(c.min(axis=0)), tuple(c.max(axis=0))) for c in coral}
    assert len(boxes) == 1, boxes


def test_steps_print_as_a_short_summary():
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    summary = repr(steps)
    assert summary == str(steps) and len(summary) < 250 and "\n" not in summary
    assert summary.startswith(f"<BackpropSteps: {len(steps)} steps from the loss 'negative', with values")
    assert "symbolic" in repr(backprop_steps(m["J"]))


def test_the_notebook_widget_shows_the_steps_without_a_second_caption():
    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x), name="J")
    steps = backprop_steps(J, {x: [1.0]})
    widget = steps._repr_html_()
    assert widget.count("<svg") == len(steps) and "Step 2 of" not in re.sub(r'<span class="counter".*?</span>', "", widget)
    assert "location.replace" in widget and '"symslow-steps-' in widget  # the script, which leaves the address alone in a notebook (below)
    assert "var page = false;" in widget


# the page driven by real key presses: Chromium over its DevTools protocol ----------------------------------------
class DevTools:
    """Headless Chromium driven over the DevTools protocol (``--remote-debugging-pipe``: JSON messages ending in a
    NUL byte, read from its descriptor 3, answered on 4). Key presses sent this way are real input events: they
    reach whatever has the focus and do what a key does there (a focused slider moves), as a user's would."""

    def __init__(self, profile):
        self.process = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', chromium_path(), "--headless",
             "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.buffer = b""
        self.last_id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.page("Page.enable")

    def call(self, method, session=None, **params):
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        self.process.stdin.write(json.dumps(message).encode() + b"\0")
        self.process.stdin.flush()
        deadline = time.monotonic() + 60
        while True:
            while b"\0" not in self.buffer:
                ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
                assert ready, f"Chromium did not answer {method}"
                chunk = os.read(self.process.stdout.fileno(), 1 << 16)
                assert chunk, "Chromium closed its DevTools pipe"
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.last_id:  # else an event, which these tests do not need
                assert "error" not in reply, reply
                return reply.get("result", {})

    def page(self, method, **params):
        return self.call(method, session=self.session, **params)

    def open(self, url):
        self.page("Page.navigate", url=url)
        for _ in range(200):
            if self.js("document.readyState") == "complete" and self.js("!!document.getElementById('next')"):
                return
            time.sleep(0.05)
        raise AssertionError(f"{url} did not load")

    def js(self, expression):
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def press(self, key, code):
        for kind in ("keyDown", "keyUp"):
            self.page("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code,
                      nativeVirtualKeyCode=code)

    def current(self):
        return int(self.js("document.getElementById('symslow-steps').getAttribute('data-current')"))

    def close(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def browser(tmp_path):
    devtools = DevTools(tmp_path / "profile")
    yield devtools
    devtools.close()


@pytest.fixture(scope="module")
def mlp_page(tmp_path_factory):
    m = tutorial_mlp()
    steps = backprop_steps(m["J"], m["feed"])
    folder = tmp_path_factory.mktemp("mlp-steps")
    save_steps(steps, folder, gif=False)
    return folder / "index.html", len(steps)


def test_arrow_keys_work_without_a_click_and_move_one_step_even_on_the_slider(browser, mlp_page):
    page, count = mlp_page
    browser.open(page.as_uri())
    assert browser.current() == 1 and browser.js("document.activeElement === document.body")  # nothing clicked
    browser.press("ArrowRight", 39)
    assert browser.current() == 2
    browser.press("ArrowRight", 39)
    browser.press("ArrowLeft", 37)
    assert browser.current() == 2
    browser.js("document.getElementById('slider').focus()")
    assert browser.js("document.activeElement.id") == "slider"
    browser.press("ArrowRight", 39)  # the slider's own arrow key handling must not add a second step
    assert browser.current() == 3 and browser.js("document.getElementById('slider').value") == "3"
    browser.press("ArrowLeft", 37)
    assert browser.current() == 2
    browser.js("document.getElementById('next').focus()")
    browser.press("ArrowRight", 39)
    assert browser.current() == 3
    browser.press("End", 35)
    assert browser.current() == count
    browser.press("ArrowRight", 39)
    assert browser.current() == count  # no step after the last
    browser.press("Home", 36)
    assert browser.current() == 1


def test_the_address_follows_the_step_and_the_step_follows_the_address(browser, mlp_page):
    page, count = mlp_page
    browser.open(page.as_uri() + "#4")
    assert browser.current() == 4
    browser.js("document.getElementById('next').click()")
    assert browser.current() == 5 and browser.js("location.hash") == "#5"
    history = browser.js("history.length")
    browser.press("ArrowRight", 39)
    assert browser.js("location.hash") == "#6" and browser.js("history.length") == history  # no entry per step
    browser.js("location.hash = '#2'")  # the reader edits the address, or follows a link to step 2
    for _ in range(40):
        if browser.current() == 2:
            break
        time.sleep(0.05)
    assert browser.current() == 2
    browser.open(page.as_uri() + f"#{count + 5}")  # past the end: the last step
    assert browser.current() == count


def test_nodes_stay_in_place_on_screen_from_step_to_step(browser, mlp_page):
    page, count = mlp_page
    browser.open(page.as_uri())
    where = ("JSON.stringify(Array.prototype.map.call(document.querySelectorAll('section.step:not([hidden]) g.node'),"
             " function (g) { var r = g.getBoundingClientRect(); "
             "return [g.querySelector('title').textContent, Math.round(r.x), Math.round(r.y + window.scrollY),"
             " Math.round(r.width), Math.round(r.height)]; }))")
    seen = []
    for k in range(count):
        seen.append(json.loads(browser.js(where)))
        browser.press("ArrowRight", 39)
    assert len(seen[0]) == count  # the nodes and the legend
    moved = [k + 1 for k, boxes in enumerate(seen) if boxes != seen[0]]
    assert not moved, f"nodes moved at steps {moved}"


def test_a_diagram_on_a_layout_keeps_its_places_when_copied_and_refuses_what_the_layout_lacks():
    from symslow.viz.layout import PinnedDigraph

    graph = ts.Graph()
    with graph.as_default():
        x = ts.placeholder(name="x")
        J = ts.reduce_sum(ts.square(x), name="J")
    step = backprop_steps(J, {x: [1.0]})[1]
    assert isinstance(step.diagram, PinnedDigraph)
    twin = step.diagram.copy()
    assert node_shapes(render_svg(twin)) == node_shapes(render_svg(step.diagram))
    with pytest.raises(KeyError, match="the layout has no node 'elsewhere'"):
        twin.node("elsewhere")
    with pytest.raises(KeyError, match=f"the layout has no edge n{x.id} -> n{J.id}"):
        twin.edge(f"n{x.id}", f"n{J.id}")


def test_a_gradient_passed_on_unchanged_reads_as_the_consumers():
    """add passes ∂J/∂add on to both inputs as it is: their steps read ∂J/∂a = ∂J/∂add, not ∂J/∂a = ∂J/∂a."""
    ts.Graph().as_default()
    a = ts.placeholder(ts.float64, shape=[], name="a")
    c = ts.placeholder(ts.float64, shape=[], name="c")
    J = ts.sigmoid(ts.add(a, c, name="s"), name="J")
    steps = backprop_steps(J, feed_dict={a: 0.5, c: -0.5})
    text = {step.node.name: step.text.splitlines()[1] for step in steps if step.node is not None}
    assert text["a"] == "∂J/∂a = ∂J/∂s" and text["c"] == "∂J/∂c = ∂J/∂s"
    assert text["s"].startswith("∂J/∂s = ") and text["s"].endswith("J·(1 - J)")
