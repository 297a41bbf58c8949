"""End to end: every manifest run under the smoke profile, the cache, the book build, a real browser.

The slow tests execute notebooks (minutes). They share one session-scoped smoke run of the whole
manifest, as `fairnb book --profile smoke` does, in a copy of the repository (its tracked and
untracked files, without results or built pages), so a test session never replaces the results,
pages or book of the working tree. The fast tests check how a run's page is made readable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from fairnb.runs.manifest import load_manifest, read_template
from test_exercises import EXERCISES, TITLES as EXERCISE_TITLES

ROOT = Path(__file__).resolve().parents[1]
FAIRNB = [sys.executable, "-m", "fairnb.cli"]
RUNS = load_manifest()
SKIPPED = {".git", ".venv", "_build", "results", "book/runs", "book/generated", ".pytest_cache", "__pycache__", "data"}


def copy_repository(target: Path) -> Path:
    """Copy the repository's tracked and untracked (not ignored) files to ``target``: a fresh clone of the
    working tree, with no results, executed pages or built book — except the committed results snapshot."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                                capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: copy everything but what git ignores
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                  and not any(str(p.relative_to(ROOT)).startswith(s) or s in p.relative_to(ROOT).parts for s in SKIPPED)]
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def in_tree(tree: Path) -> dict[str, str]:
    """Environment that makes ``python -m fairnb.cli`` (and its kernels) import ``fairnb`` from ``tree``."""
    env = {k: v for k, v in os.environ.items() if k not in ("FAIRNB_RESULTS", "FAIRNB_MODEL_STORE")}
    env["PYTHONPATH"] = str(tree) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ------------------------------------------------------------------ pages for readers (fast)


def _page(cells: list[tuple[str, str, list[str]]]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.metadata["tags"] = tags
        if kind == "code":
            cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "out"}, execution_count=1)]
        notebook.cells.append(cell)
    return notebook


def test_code_inputs_fold_and_run_configuration_gets_its_label():
    from fairnb.runs.execute import RUN_CONFIGURATION, fold_code

    notebook = _page([
        ("markdown", "# Title\n\nThe question.", []),
        ("code", "profile = 'default'", ["parameters"]),
        ("code", "profile = 'smoke'", ["injected-parameters"]),
        ("code", "config = fairnb.runs.resolve(globals())\nconfig", []),
        ("code", "figure()", []),
        ("code", "key_lines()", ["show-input"]),
        ("code", "table", ["remove-input"]),
        ("code", "glue('x', 1)", ["remove-cell"]),
    ])
    fold_code(notebook)
    tags = [c.metadata.get("tags", []) for c in notebook.cells]
    assert tags[3] == ["hide-cell"] and notebook.cells[3].metadata["mystnb"] == RUN_CONFIGURATION
    assert tags[4] == ["hide-input"]
    assert tags[5] == ["show-input"] and tags[6] == ["remove-input"] and tags[7] == ["remove-cell"]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]  # present() removes these two
    before = json.dumps(notebook, sort_keys=True)
    fold_code(notebook)
    assert json.dumps(notebook, sort_keys=True) == before  # idempotent


def test_run_configuration_with_removed_input_folds_its_output_only():
    from fairnb.runs.execute import RUN_CONFIGURATION, fold_code

    notebook = _page([("code", "profile = 'default'", ["parameters"]), ("markdown", "text", []),
                      ("code", "config", ["remove-input"]), ("code", "work()", [])])
    fold_code(notebook)
    assert notebook.cells[2].metadata["tags"] == ["remove-input", "hide-output"]
    assert notebook.cells[2].metadata["mystnb"]["code_prompt_show"] == RUN_CONFIGURATION["code_prompt_show"] == "Run configuration"
    assert notebook.cells[3].metadata["tags"] == ["hide-input"]


def test_present_folds_code_and_the_record_hashes_the_final_page(tmp_path):
    """The page committed is the folded one, and the record's page_sha256 is of those bytes."""
    from dataclasses import replace

    from fairnb.runs import execute

    run = next(r for r in RUNS if r.id == "overview")
    page = tmp_path / "scratch.ipynb"
    nbformat.write(_page([("markdown", "# At a glance", []), ("code", "profile = 'default'", ["parameters"]),
                          ("code", "config", ["remove-input"]), ("code", "table", [])]), page)
    outputs = execute.Outputs(tmp_path / "runs", tmp_path / "results", tmp_path / "failed")
    for folder in (outputs.book_runs, outputs.results, outputs.failed):
        folder.mkdir()
    job = execute.Job(run, {}, "smoke", "key", outputs, source="src")
    job = replace(job, note="```{note}\nA note.\n```")
    record = {"run": run.id, "status": "ok", "metrics": {}, "key": "key"}
    execute._publish(job, page, record)
    published = outputs.book_runs / "overview.ipynb"
    notebook = nbformat.read(published, as_version=4)
    assert record["page_sha256"] == hashlib.sha256(published.read_bytes()).hexdigest()
    assert json.loads((outputs.results / "overview.json").read_text())["page_sha256"] == record["page_sha256"]
    assert [c.source for c in notebook.cells[:2]] == ["# At a glance", "```{note}\nA note.\n```"]
    assert "hide-input" in notebook.cells[4].metadata["tags"]
    assert execute.is_cached(job)


def test_a_glued_figure_left_open_is_shown_once():
    from fairnb.runs.execute import drop_repeated_figures

    png = "iVBORw0KGgo="
    notebook = _page([("code", "fig = figure()\nglue('fig_a', fig, display=False)", []),
                      ("markdown", "```{glue:figure} fig_a\n:name: fig-a\n```", []),
                      ("code", "glue('unused', other, display=False)", []), ("code", "show(other)", [])])
    glued = nbformat.v4.new_output("display_data", {"application/papermill.record/image/png": png})
    glued.metadata = {"scrapbook": {"name": "fig_a", "mime_prefix": "application/papermill.record/"}}
    inline = nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"})
    notebook.cells[0].outputs = [glued, inline]
    unused = nbformat.v4.new_output("display_data", {"application/papermill.record/image/png": "b3RoZXI="})
    unused.metadata = {"scrapbook": {"name": "unused", "mime_prefix": "application/papermill.record/"}}
    notebook.cells[2].outputs = [unused]
    notebook.cells[3].outputs = [nbformat.v4.new_output("display_data", {"image/png": "b3RoZXI="})]
    assert drop_repeated_figures(notebook) == 1
    assert notebook.cells[0].outputs == [glued]  # the glued figure stays for the {glue:figure} directive
    assert len(notebook.cells[3].outputs) == 1  # an image whose glue key no directive uses is the only display
    assert drop_repeated_figures(notebook) == 0


def test_note_goes_under_the_title_and_replaces_an_earlier_one(tmp_path):
    from fairnb.runs.execute import add_note

    page = tmp_path / "page.ipynb"
    nbformat.write(_page([("markdown", "# Title\n\nOpening paragraph.", []), ("code", "x", [])]), page)
    add_note(page, "first note")
    add_note(page, "second note")
    sources = [c.source for c in nbformat.read(page, as_version=4).cells]
    assert sources == ["# Title", "second note", "Opening paragraph.", "x"]


def test_a_partial_book_names_the_full_books_pages_it_lacks(tmp_path):
    """The book's Sphinx hook: built from another table of contents (the --from-snapshot book), a {doc} link to a
    page of the full book reads "<its title> (in the full book)"; anything else is left to Sphinx."""
    from types import SimpleNamespace

    from docutils import nodes
    from sphinx.addnodes import pending_xref

    from fairnb.book import pages

    def resolve(target, toc, explicit=""):
        node = pending_xref("", refdomain="std", reftype="doc", reftarget=target, refdoc="book/paper000/fair_synthesis",
                            refexplicit=bool(explicit))
        app = SimpleNamespace(config=SimpleNamespace(external_toc_path=str(toc)), srcdir=str(ROOT))
        found = pages._in_the_full_book(app, None, node, nodes.inline(explicit or target, explicit or target))
        return None if found is None else found.astext()

    partial = tmp_path / "_toc.yml"
    title = pages.page_title("book/appendix/fair_synthesis")
    assert title != "book/appendix/fair_synthesis"  # the appendix page's own title
    assert resolve("../appendix/fair_synthesis", partial) == f"{title} (in the full book)"
    assert resolve("../appendix/fair_synthesis", partial, "every run") == "every run (in the full book)"
    assert resolve("../runs/fair_synthesis-adult-sex", partial).endswith(" (fair_synthesis-adult-sex) (in the full book)")
    assert resolve("../appendix/no_such_page", partial) is None  # a broken link stays an error
    assert resolve("../appendix/fair_synthesis", ROOT / "_toc.yml") is None  # the full book: a missing page is an error


def test_performance_page_reads_as_one_table(tmp_path):
    """Three significant digits with the unit, no NaN or None anywhere, goal and status only where a goal exists,
    each note once; the figure fits the text column."""
    from fairnb.book import performance

    performance.save("alpha", [{"name": "fast path", "value": 0.149521, "unit": "s", "device": "cpu", "goal": 0.2921,
                                "note": "same note"},
                               {"name": "slow path", "value": 3549.8, "unit": "s", "device": "cpu", "note": "same note"},
                               {"name": "speed-up", "value": 19.5, "unit": "x", "device": "cpu", "goal": 25},
                               {"name": "runs done", "value": 36, "unit": "runs of 50", "device": "cpu"}], tmp_path)
    frame = performance.load_all(tmp_path)
    table, notes = performance.measurements_table(frame)
    assert list(table.columns) == ["benchmark", "measurement", "value", "goal", "status", "note"]
    assert list(table.value) == ["0.150\u00a0s", "3,550\u00a0s", "19.5\u00a0×", "36\u00a0runs\u00a0of\u00a050"]
    assert list(table.goal) == ["≤\u00a00.292\u00a0s", "", "≥\u00a025\u00a0×", ""]
    assert list(table.status) == ["met", "", "not met", ""]
    assert notes == ["same note"] and list(table.note) == ["1", "1", "", ""]
    machines = performance.machines_table(frame)
    text = table.to_string() + machines.to_string()
    assert "nan" not in text.lower() and "None" not in text
    without_goals, _ = performance.measurements_table(frame.assign(goal=None))
    assert "goal" not in without_goals and "status" not in without_goals
    assert performance.timing_figure(frame).get_size_inches()[0] <= 6.6


def test_all_records_reads_successes_and_failures_through_read_records(tmp_path, monkeypatch):
    from fairnb.runs import execute

    (tmp_path / "b.json").write_text(json.dumps({"run": "b", "status": "ok"}))
    (tmp_path / "a.failed.json").write_text(json.dumps({"run": "a", "status": "failed"}))
    (tmp_path / "_last_invocation.json").write_text("[]")
    (tmp_path / "broken.json").write_text("{")
    monkeypatch.setattr(execute, "RESULTS", tmp_path)
    assert [(r["run"], r["status"]) for r in execute.all_records()] == [("a", "failed"), ("b", "ok")]


# ------------------------------------------------------------------ the whole manifest (slow)


@pytest.fixture(scope="session")
def tree(tmp_path_factory):
    """A copy of the repository that the slow tests run and build in."""
    return copy_repository(tmp_path_factory.mktemp("fairnb") / "repo")


@pytest.fixture(scope="session")
def smoke_run(tree, request):
    """Run the whole manifest under the smoke profile (two Dask workers), with a progress line on the terminal
    every 20 seconds (``k of n runs done``), also when the tests run in several processes."""
    started = time.perf_counter()
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(FAIRNB + ["run", "--profile", "smoke", "--workers", "2"], cwd=tree, env=in_tree(tree),
                                   stdout=out, stderr=err, text=True)
        report = started + 20
        while process.poll() is None and time.perf_counter() - started < 3600:
            time.sleep(1)
            if time.perf_counter() >= report:
                report += 20
                done = sum(1 for run in RUNS if (tree / "results" / f"{run.id}.json").exists())
                with capture.global_and_fixture_disabled():
                    os.write(2, f"\nsmoke manifest: {done} of {len(RUNS)} runs done, "
                                f"{time.perf_counter() - started:.0f} s\n".encode())
        if process.poll() is None:
            process.kill()
        code = process.wait()
        out.seek(0)
        err.seek(0)
        return {"code": code, "stdout": out.read(), "stderr": err.read(), "seconds": time.perf_counter() - started}


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS, ids=[r.id for r in RUNS])
def test_every_run_executes_under_smoke_profile(tree, smoke_run, run):
    results = tree / "results"
    failed_path = results / f"{run.id}.failed.json"
    assert not failed_path.exists(), json.loads(failed_path.read_text()).get("error")
    record = json.loads((results / f"{run.id}.json").read_text())
    assert record["status"] == "ok" and record["profile"] == "smoke"
    notebook = nbformat.read(tree / "book" / "runs" / f"{run.id}.ipynb", as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.slow
def test_smoke_run_exit_code(smoke_run):
    assert smoke_run["code"] == 0, smoke_run["stderr"][-3000:]


@pytest.mark.slow
def test_second_identical_run_is_all_cache_hits(tree, smoke_run):
    started = time.perf_counter()
    result = subprocess.run(FAIRNB + ["run", "--profile", "smoke", "--workers", "2"], cwd=tree, env=in_tree(tree),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0
    assert f"{len(RUNS)} cache hits" in result.stdout
    assert time.perf_counter() - started < 30


@pytest.mark.slow
def test_datasets_template_reads_user_supplied_meps(meps_dir, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "any")  # a generated sample, not the complete HC-181 file
    out = tmp_path / "meps.ipynb"
    papermill.execute_notebook(read_template(ROOT / "notebooks" / "data/01_datasets.md"), str(out), kernel_name="python3",
                               parameters={"dataset": "meps", "data_path": str(meps_dir), "profile": "smoke"},
                               progress_bar=False, cwd=str(ROOT))
    from fairnb.runs.execute import extract_metrics

    assert extract_metrics(out)["records"]["mean"] == 397


@pytest.fixture(scope="session")
def built_book(tree, smoke_run):
    result = subprocess.run(FAIRNB + ["book", "--no-run"], cwd=tree, env=in_tree(tree), capture_output=True, text=True,
                            timeout=1200)
    return result


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors(tree, built_book):
    assert built_book.returncode == 0, (built_book.stdout + built_book.stderr)[-4000:]
    html = tree / "_build" / "html"
    assert (html / "index.html").exists() or (html / "book" / "intro.html").exists()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    status = (html / "book" / "generated" / "status.html").read_text()
    for run in RUNS:
        assert run.id in status


@pytest.mark.slow
def test_pages_need_no_external_url_to_render(tree, built_book):
    html = tree / "_build" / "html"
    for page in html.rglob("*.html"):
        text = page.read_text(errors="ignore")
        for needle in ('src="https://', "src='https://", 'href="https://cdn', "cdn.jsdelivr"):
            assert needle not in text, f"{page.relative_to(html)} loads {needle}"


PAGES = {  # page -> text it must show
    "book/runs/overview.html": "headline claims",                   # the landing page
    "book/paper000/fair_synthesis.html": "compute time",            # a lecture
    "book/runs/claims.html": "every ledger row",                    # the claims ledger
    "book/runs/table1.html": "table 1",                             # a reproduction page
    "book/runs/images-colour_mnist.html": "colour",                 # a run page with many figures
    "book/runs/datasets-adult.html": "favourable-label rate",       # a dataset page
    "book/runs/fair_synthesis-adult-sex.html": "feature importance",
    "book/api.html": "api reference",                               # the API page
    "book/runs/performance.html": "performance record",             # the benchmarks' page
}
WITHOUT_FIGURES = {"book/api.html", "book/runs/claims.html"}

IMAGES_JS = """
return Array.from(document.querySelectorAll('main img')).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]);
"""
TABLES_JS = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const style = getComputedStyle(article);
const box = article.getBoundingClientRect();
const left = box.left + parseFloat(style.paddingLeft), right = box.right - parseFloat(style.paddingRight);
return Array.from(article.querySelectorAll('table')).filter(t => t.getClientRects().length).map(t => {
  const r = t.getBoundingClientRect();
  let scroller = null;
  for (let e = t.parentElement; e && e !== article; e = e.parentElement) {
    const overflow = getComputedStyle(e).overflowX;
    if (overflow === 'auto' || overflow === 'scroll') { scroller = e.getBoundingClientRect(); break; }
  }
  const head = (t.querySelector('caption, th, td') || t).textContent.trim().slice(0, 40);
  return {head: head, width: Math.round(r.width), column: Math.round(right - left),
          overflows: r.left < left - 1 || r.right > right + 1,
          scrolls: !!scroller, box_fits: !scroller || (scroller.left >= left - 1 && scroller.right <= right + 1)};
});
"""
CODE_JS = """
return Array.from(document.querySelectorAll('main div.cell_input')).filter(
  e => !e.closest('details') && !e.closest('.tag_show-input')).length;
"""


def _image_key(src: str, html: Path) -> str:
    """sha256 of an image's pixels (decoded), or of its bytes when it is not a raster image."""
    import base64
    from urllib.parse import unquote, urlparse

    from PIL import Image

    if src.startswith("data:"):
        data = base64.b64decode(src.split(",", 1)[1])
    else:
        data = Path(unquote(urlparse(src).path)).read_bytes()
    try:
        import io

        with Image.open(io.BytesIO(data)) as image:
            pixels = image.convert("RGBA")
            return hashlib.sha256(repr(pixels.size).encode() + pixels.tobytes()).hexdigest()
    except Exception:  # noqa: BLE001 - SVG and other formats: compare bytes
        return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.skip("Debian chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_headless_chromium_renders_pages(tree, built_book, browser, page):
    """At 1280 px: every image loads, no image is shown twice (same file or same pixels), no table is wider
    than the text column unless it sits in its own scroll box, run pages fold their code."""
    html = tree / "_build" / "html"
    assert (html / page).exists(), f"{page} was not built"
    browser.set_window_size(1280, 900)
    browser.get((html / page).as_uri())
    time.sleep(1)
    body = browser.find_element("tag name", "body").text
    assert PAGES[page] in body.lower()
    assert "Execution Failed" not in body and "Traceback" not in body
    images = browser.execute_script(IMAGES_JS)
    if page not in WITHOUT_FIGURES:
        assert images, f"no figure on {page}"
    assert all(complete and width > 0 for _, complete, width in images), [i for i in images if not (i[1] and i[2] > 0)]
    sources = [src for src, _, _ in images]
    assert len(set(sources)) == len(sources), f"an image file is shown twice on {page}"
    keys: dict[str, str] = {}
    for src in sources:
        key = _image_key(src, html)
        assert key not in keys, f"{page} shows the same picture twice: {keys[key]} and {src}"
        keys[key] = src
    tables = browser.execute_script(TABLES_JS)
    wide = [t for t in tables if (t["overflows"] and not t["scrolls"]) or not t["box_fits"]]
    assert not wide, f"tables wider than the text column on {page}: {wide}"
    if page.startswith("book/runs/"):
        assert browser.execute_script(CODE_JS) == 0, f"code shown unfolded on {page}"
        assert "Run configuration" in body
    browser.save_screenshot(str(tree / "_build" / (Path(page).stem + ".png")))


# Pages a student reads at 1280 px: nothing in the text column is wider than the column or scrolls sideways (every
# fold opened), and the ledger's verdict columns are on screen.
FIT_JS = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
article.querySelectorAll('details').forEach(d => { d.open = true; });
const style = getComputedStyle(article), box = article.getBoundingClientRect();
const left = box.left + parseFloat(style.paddingLeft), right = box.right - parseFloat(style.paddingRight);
const clipped = e => {
  for (let p = e.parentElement; p && p !== article; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true;
  }
  return false;
};
const overflow = [];
for (const e of article.querySelectorAll('*')) {
  if (!e.getClientRects().length) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const sideways = ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1;
  const out = (r.right > right + 1 || r.left < left - 1) && !clipped(e);
  if (sideways || out) overflow.push({what: sideways ? 'scrolls sideways' : 'sticks out of the column',
    tag: e.tagName.toLowerCase(), width: Math.round(Math.max(r.width, e.scrollWidth)), text: e.textContent.trim().slice(0, 60)});
}
const verdicts = Array.from(article.querySelectorAll('th')).filter(th => /^verdicts?$/.test(th.textContent.trim())).map(th => {
  const r = th.getBoundingClientRect(), row = Array.from(th.parentElement.children);
  return {first: row.indexOf(th) === 0, visible: r.left >= left - 1 && r.right <= Math.min(right, window.innerWidth) + 1};
});
return {column: Math.round(right - left), overflow: overflow.slice(0, 10), verdicts: verdicts};
"""
FITTED_PAGES = ("book/runs/claims.html", "book/runs/table1.html", "book/runs/performance.html")


def _fits(browser, page: Path) -> dict:
    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    time.sleep(1)
    found = browser.execute_script(FIT_JS)
    assert not found["overflow"], f"wider than the {found['column']} px text column at 1280 px on {page.name}: {found['overflow']}"
    return found


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("page", FITTED_PAGES)
def test_pages_fit_the_text_column_at_1280_px(tree, built_book, browser, page):
    """The claims ledger, Table 1 and the performance record at 1280 px, every fold open: no table, code block or
    figure wider than the text column, none in a sideways scroll box; the ledger's verdicts come first, on screen."""
    html = tree / "_build" / "html" / page
    assert html.exists(), f"{page} was not built"
    found = _fits(browser, html)
    if page == "book/runs/claims.html":
        assert found["verdicts"], "no verdict column on the claims ledger"
        assert all(v["first"] and v["visible"] for v in found["verdicts"]), found["verdicts"]


@pytest.mark.slow
def test_internal_links_resolve(tree, built_book):
    import re
    from urllib.parse import unquote, urlparse

    html = tree / "_build" / "html"
    broken = []
    for page in html.rglob("*.html"):
        if "_static" in page.relative_to(html).parts:
            continue  # theme templates, not pages
        for target in re.findall(r'href="([^"#?]+)(?:[#?][^"]*)?"', page.read_text(errors="ignore")):
            if urlparse(target).scheme or target.startswith(("mailto:", "//")):
                continue
            if not (page.parent / unquote(target)).resolve().exists():
                broken.append(f"{page.relative_to(html)} -> {target}")
    assert not broken, broken[:20]


# ------------------------------------------------------------------ the exercises' commands (slow, after the smoke run)


@pytest.fixture(scope="module")
def executed_exercises(tree, smoke_run, tmp_path_factory):
    """Every exercise command run under the smoke profile in copies of the smoke-run repository
    (``test_exercises.run_exercises``)."""
    from test_exercises import run_exercises

    assert smoke_run["code"] == 0, smoke_run["stderr"][-3000:]
    return run_exercises(tmp_path_factory.mktemp("exercises"), start_from=tree)


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=EXERCISE_TITLES)
def test_exercise_command_under_smoke_shows_what_it_asks_for(executed_exercises, exercise):
    from test_exercises import check_exercise_pages

    check_exercise_pages(executed_exercises, exercise)
