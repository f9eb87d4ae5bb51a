"""End-to-end walkthrough in headless Chromium: run the default preset, step through, screenshot each step.

The screenshots go to test-artifacts/walkthrough/step-NN.png, beside the logs of the app
and of chromedriver. The server, browser and readiness checks are those of test_browser.
"""

import time

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

from app.walkthrough.steps import STEPS
from test_browser import (BROWSER_MARKS, PAGE_LOAD_TIMEOUT_S, PLOTLY_SELECTOR, REPO_ROOT, RUN_TIMEOUT_S,
                          exception_texts, find_button_by_text, read_log_tail, save_main_block_screenshot,
                          script_state, serve_app, start_chromium, wait_for_idle_script, wait_until)

pytestmark = BROWSER_MARKS

ARTIFACT_DIR = REPO_ROOT / "test-artifacts" / "walkthrough"
STEP_TIMEOUT_S = 60
N_STEPS = len(STEPS)
HEADING_SELECTOR = "h3"
# Streamlit marks a widget's container with its key. The button text also contains the shortcut badge.
NEXT_BUTTON_SELECTOR = ".st-key-walkthrough_next button"


def step_heading(driver) -> str:
    """Return the text of the step indicator heading, or "" while it is missing."""
    for element in driver.find_elements("css selector", HEADING_SELECTOR):
        text = element.text.strip()
        if text.startswith("Step "):
            return text
    return ""


def wait_for_step(driver, step: int, log_path) -> None:
    expected = f"Step {step} of {N_STEPS}: {STEPS[step - 1].title}"
    wait_until(driver, lambda d: script_state(d) == "notRunning" and step_heading(d) == expected
               and d.find_elements("css selector", PLOTLY_SELECTOR),
               STEP_TIMEOUT_S, f"step {step} did not show {expected!r} with a figure")
    # Plotly lays out its text after the SVG appears.
    time.sleep(1.0)
    assert exception_texts(driver) == [], f"step {step} shows an exception:\n{read_log_tail(log_path)}"
    assert f"step={step}" in driver.current_url


def click_run_and_wait(driver, log_path) -> None:
    find_button_by_text(driver, "Run the default preset").click()
    # A fast run can finish before the state reads "running"; the next wait checks the end state.
    try:
        WebDriverWait(driver, 10, poll_frequency=0.1).until(lambda d: script_state(d) != "notRunning")
    except TimeoutException:
        pass
    wait_until(driver, lambda d: script_state(d) == "notRunning" and step_heading(d),
               RUN_TIMEOUT_S, f"the default run did not finish:\n{read_log_tail(log_path)}")


def test_walkthrough_steps_in_browser():
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACT_DIR.glob("*.png"):
        old.unlink()
    log_path = ARTIFACT_DIR / "streamlit.log"

    with serve_app(log_path) as base_url:
        driver = start_chromium(ARTIFACT_DIR / "chromedriver.log")
        try:
            driver.get(f"{base_url}/walkthrough")
            wait_for_idle_script(driver, PAGE_LOAD_TIMEOUT_S, "first page load did not finish")
            wait_until(driver, lambda d: find_button_by_text(d, "Run the default preset"), PAGE_LOAD_TIMEOUT_S,
                       "the walkthrough did not offer to run the default preset")
            save_main_block_screenshot(driver, ARTIFACT_DIR / "before-run.png")

            click_run_and_wait(driver, log_path)
            for step in range(1, N_STEPS + 1):
                wait_for_step(driver, step, log_path)
                save_main_block_screenshot(driver, ARTIFACT_DIR / f"step-{step:02d}.png")
                if step < N_STEPS:
                    driver.find_element("css selector", NEXT_BUTTON_SELECTOR).click()

            # A reload opens a new session; the step comes back from the URL, the run from the server.
            driver.refresh()
            wait_for_idle_script(driver, PAGE_LOAD_TIMEOUT_S, "the reload did not finish")
            save_main_block_screenshot(driver, ARTIFACT_DIR / "after-reload.png")
            wait_for_step(driver, N_STEPS, log_path)
        finally:
            driver.quit()

    for step in range(1, N_STEPS + 1):
        assert (ARTIFACT_DIR / f"step-{step:02d}.png").stat().st_size > 0
