"""The HTML report in a real browser: headless Chromium (Debian's chromium and chromium-driver, which
``.ci/setup`` installs) driven through Selenium opens ``report.html`` of one run of every procedure;
the page logs no console error, every image has loaded with a size, and every procedure has its figure.
"""

import shutil

import pytest

from tspcm_lab.analysis.examples import PROCEDURES, write_example_run
from tspcm_lab.report import write_report

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: flags that work on a machine without a display, sandbox or network
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,768",
]


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -e '.[test]' installs selenium")
    from selenium.webdriver.chrome.service import Service

    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), (
        "headless Chromium is missing: bash .ci/setup installs chromium and chromium-driver"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.slow
def test_the_report_opens_in_chromium_with_every_figure_and_no_console_error(browser, tmp_path):
    files = [write_example_run(tmp_path / f"{name}.h5", name, seed=3) for name in PROCEDURES]
    report = write_report(files, tmp_path / "report")
    browser.get(report.as_uri())
    state = browser.execute_script("""
        const imgs = Array.from(document.images);
        return {
            ready: document.readyState,
            images: imgs.map(i => ({procedure: i.dataset.procedure || '', complete: i.complete,
                                    width: i.naturalWidth, shown: i.getBoundingClientRect().width})),
            page: document.body.getBoundingClientRect().width,
            errors: document.querySelectorAll('.err').length,
        };""")
    assert state["ready"] == "complete"
    console = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert console == []
    images = state["images"]
    assert images and all(i["complete"] and i["width"] > 0 for i in images), images
    assert all(i["shown"] >= 0.8 * min(state["page"], 1100 - 32) for i in images if i["procedure"])  # page width
    per_procedure = {p: sum(1 for i in images if i["procedure"] == p) for p in PROCEDURES}
    assert all(n >= 1 for n in per_procedure.values()), per_procedure
    assert state["errors"] == 0  # no file failed, no figure refused
    text = browser.find_element("tag name", "body").text
    assert "seed 3" in text and "example iv-sweep" in text  # each run's title, seed ... above its figures
