"""End-to-end test of the Benchmarks page: run on Explore, switch pages, screenshot each tab."""

import time

import pytest

from test_browser import (
    ARTIFACT_DIR, BROWSER_MARKS, PAGE_LOAD_TIMEOUT_S, PLOTLY_SELECTOR, RUN_TIMEOUT_S,
    TAB_SELECTOR, exception_texts, find_button_by_text, read_log_tail, save_main_block_screenshot, serve_app,
    slugify, start_chromium, wait_for_idle_script, wait_until)

pytestmark = BROWSER_MARKS

NAV_LINK_SELECTOR = "[data-testid=stSidebarNav] a"


@pytest.fixture(scope="module")
def session():
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACT_DIR / "streamlit-benchmarks.log"
    with serve_app(log_path) as base_url:
        driver = start_chromium(ARTIFACT_DIR / "chromedriver-benchmarks.log")
        try:
            yield driver, base_url, log_path
        finally:
            driver.quit()


def open_benchmarks_page(driver):
    """Click the sidebar link to the Benchmarks page, which keeps the session and its run."""
    links = [link for link in driver.find_elements("css selector", NAV_LINK_SELECTOR)
             if link.text.strip() == "Benchmarks"]
    assert links, "the sidebar has no link to the Benchmarks page"
    links[0].click()
    wait_until(driver, lambda d: d.find_elements("css selector", "h1")
               and d.find_element("css selector", "h1").text.startswith("Benchmarks"),
               PAGE_LOAD_TIMEOUT_S, "the Benchmarks page did not open")
    wait_for_idle_script(driver, PAGE_LOAD_TIMEOUT_S, "the Benchmarks page did not finish loading")


def test_benchmarks_page_after_run(session):
    driver, base_url, log_path = session
    driver.get(base_url)
    wait_until(driver, lambda d: find_button_by_text(d, "Run"), PAGE_LOAD_TIMEOUT_S, "no enabled Run button appeared")
    find_button_by_text(driver, "Run").click()
    time.sleep(2.0)
    wait_until(driver, lambda d: d.find_elements("css selector", PLOTLY_SELECTOR), RUN_TIMEOUT_S,
               "the run did not finish with Plotly charts")
    wait_for_idle_script(driver, RUN_TIMEOUT_S, "the run did not finish")

    open_benchmarks_page(driver)

    titles = [tab.text.strip() for tab in driver.find_elements("css selector", TAB_SELECTOR)]
    assert titles == ["Key figures", "Plots", "Observations for the current pair"]
    for index, title in enumerate(titles):
        driver.find_elements("css selector", TAB_SELECTOR)[index].click()
        wait_for_idle_script(driver, RUN_TIMEOUT_S, f"tab {title!r} did not finish")
        if index == 2:
            wait_until(driver, lambda d: len(d.find_elements("css selector", PLOTLY_SELECTOR)) >= 2,
                       RUN_TIMEOUT_S, "the observation charts did not appear")
        time.sleep(1.0)

        assert exception_texts(driver) == [], f"tab {title!r} shows an exception:\n{read_log_tail(log_path)}"
        if index == 0:
            widths = driver.execute_script(
                "const t = document.querySelector('[data-testid=stTable]');"
                "return t ? [t.scrollWidth, t.clientWidth] : null;")
            assert widths and widths[0] <= widths[1], f"the summary table scrolls sideways: {widths}"
        save_main_block_screenshot(driver, ARTIFACT_DIR / f"benchmarks-{index + 1:02d}-{slugify(title)}.png")
