"""End-to-end test: start the Streamlit app, click Run in headless Chromium, take screenshots.

The screenshots go to test-artifacts/browser/, with the logs of the app and of chromedriver.
Debian's Chromium and chromedriver are used as installed, so Selenium Manager never runs.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.common.exceptions import NoSuchElementException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACT_DIR = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2400",
]

SERVER_START_TIMEOUT_S = 120
# The first page load imports torch and loads the embedded model.
PAGE_LOAD_TIMEOUT_S = 300
RUN_TIMEOUT_S = 600
TAB_RENDER_TIMEOUT_S = 60

APP_SELECTOR = "[data-testid=stApp]"
MAIN_BLOCK_SELECTOR = "[data-testid=stMainBlockContainer]"
PLOTLY_SELECTOR = ".js-plotly-plot .main-svg"
EXCEPTION_SELECTOR = "[data-testid=stException]"
TAB_SELECTOR = "[data-testid=stTabs] [role=tab]"
# Upper bound of the window height for a screenshot, so that a runaway layout cannot
# request a huge image. A taller main column is cut off at the bottom.
MAX_SCREENSHOT_HEIGHT_PX = 16000

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"{CHROMIUM} or {CHROMEDRIVER} is missing; "
               "install Debian's chromium and chromium-driver (make setup does this as root)",
    ),
]
pytestmark = BROWSER_MARKS


def find_free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_log_tail(path, max_chars=4000):
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return text[-max_chars:]


def wait_for_health(url, process, log_path):
    """Poll Streamlit's health endpoint until it returns 200 or the server exits."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Streamlit exited with code {process.returncode}:\n{read_log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"Streamlit did not answer {url} within {SERVER_START_TIMEOUT_S} s:\n"
                f"{read_log_tail(log_path)}")


@contextmanager
def serve_app(log_path):
    """Start `streamlit run streamlit_app.py` on a free loopback port, yield its URL, stop it on exit."""
    port = find_free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]
    # Offline settings keep the model loader from reaching for a model hub.
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(f"{base_url}/_stcore/health", process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def start_chromium(driver_log_path):
    """Start headless Chromium through Debian's chromedriver."""
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    # An explicit driver path makes Selenium skip Selenium Manager, which would download drivers.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(driver_log_path))
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="module")
def app_server():
    """Serve the app for this module and yield its URL and log path."""
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACT_DIR / "streamlit.log"
    with serve_app(log_path) as base_url:
        yield base_url, log_path


@pytest.fixture(scope="module")
def browser():
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    driver = start_chromium(ARTIFACT_DIR / "chromedriver.log")
    try:
        yield driver
    finally:
        driver.quit()


def script_state(driver):
    try:
        return driver.find_element("css selector", APP_SELECTOR).get_attribute("data-test-script-state")
    except NoSuchElementException:
        return None


def wait_until(driver, condition, timeout_s, message):
    try:
        return WebDriverWait(driver, timeout_s, poll_frequency=0.5).until(condition)
    except TimeoutException:
        pytest.fail(f"{message} (waited {timeout_s} s, script state {script_state(driver)!r})")


def wait_for_idle_script(driver, timeout_s, message):
    wait_until(driver, lambda d: script_state(d) == "notRunning", timeout_s, message)


def find_button_by_text(driver, text):
    """Return the first enabled button whose visible text is exactly `text`."""
    for button in driver.find_elements("tag name", "button"):
        if button.text.strip() == text and button.is_enabled():
            return button
    return None


def save_main_block_screenshot(driver, path):
    """Screenshot the element that contains the app's main column, not the whole page.

    Streamlit scrolls the main column inside the page, so an element screenshot shows only
    the part inside the window. The window is made tall enough for the whole column while
    the screenshot is taken, then set back.
    """
    # Move the pointer off buttons, whose tooltips would cover part of the picture.
    ActionChains(driver).move_to_element(driver.find_element("tag name", "h1")).perform()

    original_size = driver.get_window_size()
    column_height = driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        "return e.getBoundingClientRect().top + e.scrollHeight;", MAIN_BLOCK_SELECTOR)
    browser_frame_height = driver.execute_script("return window.outerHeight - window.innerHeight;")
    needed_height = min(int(column_height) + 40, MAX_SCREENSHOT_HEIGHT_PX) + browser_frame_height
    if needed_height > original_size["height"]:
        driver.set_window_size(original_size["width"], needed_height)
        # Plotly redraws its charts for the new size.
        time.sleep(1.0)

    try:
        element = driver.find_element("css selector", MAIN_BLOCK_SELECTOR)
        assert element.screenshot(str(path)), f"screenshot of {MAIN_BLOCK_SELECTOR} failed"
    finally:
        driver.set_window_size(original_size["width"], original_size["height"])
    assert path.stat().st_size > 0, f"{path} is empty"


def exception_texts(driver):
    return [element.text for element in driver.find_elements("css selector", EXCEPTION_SELECTOR)]


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "tab"


def test_run_button_draws_charts(app_server, browser):
    base_url, log_path = app_server

    browser.get(base_url)
    wait_for_idle_script(browser, PAGE_LOAD_TIMEOUT_S, "first page load did not finish")
    wait_until(browser, lambda d: find_button_by_text(d, "Run"), PAGE_LOAD_TIMEOUT_S,
               "no enabled Run button appeared")
    save_main_block_screenshot(browser, ARTIFACT_DIR / "before-run.png")
    assert exception_texts(browser) == [], f"app raised before Run:\n{read_log_tail(log_path)}"

    find_button_by_text(browser, "Run").click()

    # A short run can finish before the state ever reads "running", so this wait may time out
    # harmlessly. The next wait checks the end state.
    try:
        WebDriverWait(browser, 10, poll_frequency=0.1).until(
            lambda d: script_state(d) != "notRunning")
    except TimeoutException:
        pass
    wait_until(
        browser,
        lambda d: script_state(d) == "notRunning" and d.find_elements("css selector", PLOTLY_SELECTOR),
        RUN_TIMEOUT_S,
        "run did not finish with Plotly charts on the page",
    )

    assert exception_texts(browser) == [], f"app raised during Run:\n{read_log_tail(log_path)}"
    save_main_block_screenshot(browser, ARTIFACT_DIR / "after-run.png")


def test_each_result_tab_renders(app_server, browser):
    """Click every result tab after the run of the previous test and screenshot each one."""
    tabs = browser.find_elements("css selector", TAB_SELECTOR)
    if not tabs:
        pytest.skip("no result tabs on the page; test_run_button_draws_charts must pass first")

    titles = [tab.text.strip() for tab in tabs]
    for index, title in enumerate(titles):
        tab = browser.find_elements("css selector", TAB_SELECTOR)[index]
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", tab)
        tab.click()

        wait_until(browser, lambda d: d.find_elements("css selector", TAB_SELECTOR)[index]
                   .get_attribute("aria-selected") == "true",
                   TAB_RENDER_TIMEOUT_S, f"tab {title!r} was not selected")
        wait_for_idle_script(browser, TAB_RENDER_TIMEOUT_S, f"rerun after tab {title!r} did not finish")
        # Plotly may draw or resize a chart only once its tab is visible, so give it a moment.
        time.sleep(1.0)

        assert exception_texts(browser) == [], f"tab {title!r} shows an exception"
        save_main_block_screenshot(browser, ARTIFACT_DIR / f"tab-{index + 1:02d}-{slugify(title)}.png")
