"""End to end: every manifest run under the smoke profile, the cache, the book build, a real browser.

These tests execute notebooks (minutes). They share one session-scoped smoke run of the whole
manifest, as `fairnb book --profile smoke` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from fairnb.runs.execute import RESULTS
from fairnb.runs.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]
FAIRNB = [sys.executable, "-m", "fairnb.cli"]
RUNS = load_manifest()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def smoke_run():
    """Run the whole manifest under the smoke profile (two Dask workers)."""
    started = time.perf_counter()
    result = subprocess.run(FAIRNB + ["run", "--profile", "smoke", "--workers", "2"], cwd=ROOT,
                            capture_output=True, text=True, timeout=3600)
    return {"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr,
            "seconds": time.perf_counter() - started}


@pytest.mark.parametrize("run", RUNS, ids=[r.id for r in RUNS])
def test_every_run_executes_under_smoke_profile(smoke_run, run):
    record_path = RESULTS / f"{run.id}.json"
    failed_path = RESULTS / f"{run.id}.failed.json"
    assert not failed_path.exists(), json.loads(failed_path.read_text()).get("error")
    record = json.loads(record_path.read_text())
    assert record["status"] == "ok" and record["profile"] == "smoke"
    notebook = nbformat.read(ROOT / "book" / "runs" / f"{run.id}.ipynb", as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_smoke_run_exit_code(smoke_run):
    assert smoke_run["code"] == 0, smoke_run["stderr"][-3000:]


def test_second_identical_run_is_all_cache_hits(smoke_run):
    started = time.perf_counter()
    result = subprocess.run(FAIRNB + ["run", "--profile", "smoke", "--workers", "2"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0
    assert f"{len(RUNS)} cache hits" in result.stdout
    assert time.perf_counter() - started < 30


def test_datasets_template_reads_user_supplied_meps(meps_dir, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("FAIRNB_MEPS_ROWS", "any")  # a generated sample, not the complete HC-181 file
    out = tmp_path / "meps.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "data/01_datasets.ipynb"), str(out), kernel_name="python3",
                               parameters={"dataset": "meps", "data_path": str(meps_dir), "profile": "smoke"},
                               progress_bar=False, cwd=str(ROOT))
    from fairnb.runs.execute import extract_metrics

    assert extract_metrics(out)["records"]["mean"] == 397


@pytest.fixture(scope="session")
def built_book(smoke_run):
    shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)
    result = subprocess.run(FAIRNB + ["book", "--no-run"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    return result


def test_book_builds_with_warnings_as_errors(built_book):
    assert built_book.returncode == 0, (built_book.stdout + built_book.stderr)[-4000:]
    html = ROOT / "_build" / "html"
    assert (html / "index.html").exists() or (html / "book" / "intro.html").exists()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    status = (html / "book" / "generated" / "status.html").read_text()
    for run in RUNS:
        assert run.id in status


def test_pages_need_no_external_url_to_render(built_book):
    html = ROOT / "_build" / "html"
    for page in html.rglob("*.html"):
        text = page.read_text(errors="ignore")
        for needle in ('src="https://', "src='https://", 'href="https://cdn', "cdn.jsdelivr"):
            assert needle not in text, f"{page.relative_to(html)} loads {needle}"


PAGES = {  # page -> text it must show: the landing page, a dataset page, a reproduction page, a figure-heavy chapter
    "book/runs/overview.html": "headline claims",
    "book/runs/datasets-adult.html": "favourable-label rate",
    "book/runs/table1.html": "table 1",
    "book/runs/fair_synthesis-adult-sex.html": "feature importance",
}


@pytest.mark.browser
@pytest.mark.parametrize("page", PAGES)
def test_headless_chromium_renders_pages_with_figures(built_book, page):
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
    try:
        driver.get((ROOT / "_build" / "html" / page).as_uri())
        time.sleep(1)
        images = driver.execute_script(
            "return Array.from(document.querySelectorAll('main img')).map(i => [i.src, i.complete, i.naturalWidth]);")
        assert images, f"no figure on {page}"
        assert all(complete and width > 0 for _, complete, width in images), images
        body = driver.find_element("tag name", "body").text
        assert PAGES[page] in body.lower()
        assert "Execution Failed" not in body and "Traceback" not in body
        driver.save_screenshot(str(ROOT / "_build" / (Path(page).stem + ".png")))
    finally:
        driver.quit()


def test_internal_links_resolve(built_book):
    import re
    from urllib.parse import unquote, urlparse

    html = ROOT / "_build" / "html"
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
