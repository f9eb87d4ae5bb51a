"""Concurrent users: eight browser sessions run different prompt pairs against one server.

Each session sets its own prompts, presses Run at the same moment as the others, and must
show its own token counts in the result. The app serialises runs with one lock, so the
runs queue. The figures (sessions, runs, failures, seconds) go to
test-artifacts/concurrency/summary.json.
"""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from selenium.common.exceptions import (ElementClickInterceptedException, NoSuchElementException,
                                        StaleElementReferenceException, TimeoutException, WebDriverException)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import semshare_core as ss
from semshare_core.model import load_embedded_tokenizer
from test_browser import (BROWSER_MARKS, EXCEPTION_SELECTOR, find_button_by_text, read_log_tail, script_state,
                          serve_app, start_chromium)

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACT_DIR = REPO_ROOT / "test-artifacts" / "concurrency"
SESSIONS = 8
MAX_NEW_TOKENS = 4
# Browsers share the CPU with the server, so the first page load is slow.
PAGE_LOAD_TIMEOUT_S = 240
STEP_TIMEOUT_S = 180
PREPARE_AT_ONCE = 3
# The last session to prepare waits for the others: three rounds of page load and three steps.
BARRIER_TIMEOUT_S = 600
# Runs queue behind one lock: the last session waits for the seven before it.
RUN_TIMEOUT_S = 240
# Errors of a step whose element a rerun replaced or has not drawn yet.
RERUN_ERRORS = (NoSuchElementException, StaleElementReferenceException)
RESULT_CAPTION = re.compile(r"reference ([\d,]+) tokens, target ([\d,]+) tokens")

SUBJECTS = ["river", "bakery", "library", "comet", "orchard", "harbour", "glacier", "market"]

pytestmark = BROWSER_MARKS


def prompt_pair(index: int) -> tuple[str, str]:
    """Return a short paraphrase pair. The target grows by one sentence per index, so counts differ."""
    subject = SUBJECTS[index]
    reference = f"The {subject} near our town was busy all day, and many people came to see it."
    extra = " It was a fine day." * index
    target = f"All day long, lots of people visited the busy {subject} close to our town.{extra}"
    return reference, target


@dataclass
class SessionRecord:
    index: int
    expected_tokens: tuple[int, int]
    shown_tokens: tuple[int, int] | None = None
    run_seconds: float | None = None
    step: str = "browser start"
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server_url():
    """Serve the app on a free loopback port for this module and yield its URL and log path."""
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACT_DIR / "streamlit.log"
    with serve_app(log_path) as url:
        yield url, log_path


def wait_settled(driver, timeout_s: float, condition=lambda d: True) -> None:
    """Wait until the script is idle and `condition` holds on two checks one second apart.

    Keyboard input can queue several reruns, and the page reads idle between them.
    """
    def settled(d) -> bool:
        if not (script_state(d) == "notRunning" and condition(d)):
            return False
        time.sleep(1.0)
        return script_state(d) == "notRunning" and condition(d)

    WebDriverWait(driver, timeout_s, poll_frequency=0.5, ignored_exceptions=RERUN_ERRORS).until(settled)


def find(driver, selector: str):
    return WebDriverWait(driver, STEP_TIMEOUT_S, poll_frequency=0.5, ignored_exceptions=RERUN_ERRORS).until(
        lambda d: d.find_element("css selector", selector))


def retry(step, attempts: int = 3) -> None:
    """Run a browser step again when a rerun replaced an element it was using."""
    for attempt in range(attempts):
        try:
            step()
            return
        except RERUN_ERRORS + (ElementClickInterceptedException,):
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)


def open_expander(driver, title: str) -> None:
    for summary in driver.find_elements("css selector", "[data-testid=stExpander] summary"):
        if summary.text.strip().endswith(title):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
            summary.click()
            return


def set_max_new_tokens(driver, value: int) -> None:
    """Open the Decoding group and move the slider with the keyboard: Home, then one step per token."""
    selector = "input[type=range][aria-label='Max new tokens']"
    # Streamlit draws an expander's content only once it is open. A click during a rerun can
    # be lost on a loaded machine, so the expander is clicked again until the slider appears.
    for _ in range(6):
        retry(lambda: open_expander(driver, "Decoding"))
        try:
            WebDriverWait(driver, 10, poll_frequency=0.5).until(lambda d: d.find_elements("css selector", selector))
            break
        except TimeoutException:
            continue

    def press_keys() -> None:
        driver.execute_script("arguments[0].focus();", find(driver, selector))
        ActionChains(driver).send_keys(Keys.HOME).send_keys(Keys.ARROW_RIGHT * value).perform()

    retry(press_keys)
    wait_settled(driver, STEP_TIMEOUT_S,
                 lambda d: d.find_element("css selector", selector).get_attribute("value") == str(value))


def set_text_area(driver, label: str, text: str) -> None:
    selector = f"textarea[aria-label='{label}']"

    def type_text() -> None:
        area = find(driver, selector)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", area)
        area.click()
        area.send_keys(Keys.CONTROL, "a")
        area.send_keys(Keys.DELETE)
        area.send_keys(text)
        # Streamlit commits a text area on Ctrl+Enter, which reruns the script.
        area.send_keys(Keys.CONTROL, Keys.ENTER)

    retry(type_text)
    wait_settled(driver, STEP_TIMEOUT_S, lambda d: d.find_element("css selector", selector).get_attribute("value") == text)


def shown_token_counts(driver) -> tuple[int, int] | None:
    for caption in driver.find_elements("css selector", "[data-testid=stCaptionContainer]"):
        match = RESULT_CAPTION.search(caption.text)
        if match:
            return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
    return None


def prepare_session(driver, url: str, record: SessionRecord) -> None:
    record.step = "page load"
    driver.get(url)
    wait_settled(driver, PAGE_LOAD_TIMEOUT_S, lambda d: find_button_by_text(d, "Run"))
    record.step = "max new tokens"
    set_max_new_tokens(driver, MAX_NEW_TOKENS)
    reference, target = prompt_pair(record.index)
    record.step = "reference text"
    set_text_area(driver, "Reference prompt", reference)
    record.step = "target text"
    set_text_area(driver, "Target prompt", target)
    record.step = "run"


def run_and_check(driver, record: SessionRecord) -> None:
    started = time.monotonic()
    find_button_by_text(driver, "Run").click()
    WebDriverWait(driver, RUN_TIMEOUT_S, poll_frequency=0.5).until(
        lambda d: script_state(d) == "notRunning" and shown_token_counts(d) is not None)
    record.run_seconds = round(time.monotonic() - started, 1)
    record.shown_tokens = shown_token_counts(driver)

    if record.shown_tokens != record.expected_tokens:
        record.failures.append(f"shows {record.shown_tokens} tokens, expected {record.expected_tokens}")
    exceptions = [element.text for element in driver.find_elements("css selector", EXCEPTION_SELECTOR)]
    errors = [element.text for element in driver.find_elements("css selector", "[data-testid=stAlertContentError]")]
    if exceptions or errors:
        record.failures.append(f"page shows exceptions {exceptions} and errors {errors}")


def describe(error: Exception) -> str:
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}"


def run_session(url: str, record: SessionRecord, barrier: threading.Barrier,
                preparing: threading.Semaphore) -> SessionRecord:
    """Drive one browser session through a run and record what it showed.

    A session that fails while preparing still reaches the barrier, so the others press Run.
    """
    driver = None
    prepared = False
    try:
        # Eight page loads at once on two cores starve each other, so only a few prepare at a time.
        with preparing:
            driver = start_chromium(ARTIFACT_DIR / f"chromedriver-{record.index}.log")
            prepare_session(driver, url, record)
        prepared = True
    except (TimeoutException, WebDriverException) as error:
        record.failures.append(f"while preparing ({record.step}): {describe(error)}")
    try:
        barrier.wait(timeout=BARRIER_TIMEOUT_S)
        if prepared:
            run_and_check(driver, record)
    except (TimeoutException, WebDriverException, threading.BrokenBarrierError) as error:
        record.failures.append(describe(error))
    finally:
        if driver is not None:
            driver.quit()
    return record


def expected_counts() -> list[tuple[int, int]]:
    """Count each pair's prompt tokens as the app does, with the embedded model's tokenizer."""
    bundle = SimpleNamespace(tokenizer=load_embedded_tokenizer(), max_context=8192)
    counts = []
    for index in range(SESSIONS):
        reference, target = prompt_pair(index)
        counts.append((ss.build_prompt(bundle, reference, reserve_tokens=MAX_NEW_TOKENS).n_tokens,
                       ss.build_prompt(bundle, target, reserve_tokens=MAX_NEW_TOKENS).n_tokens))
    return counts


def test_sessions_get_their_own_results(server_url):
    url, log_path = server_url
    counts = expected_counts()
    assert len({target for _, target in counts}) == SESSIONS, f"target counts must differ: {counts}"

    records = [SessionRecord(index, counts[index]) for index in range(SESSIONS)]
    barrier = threading.Barrier(SESSIONS)
    preparing = threading.Semaphore(PREPARE_AT_ONCE)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        records = list(pool.map(lambda record: run_session(url, record, barrier, preparing), records))
    wall_seconds = round(time.monotonic() - started, 1)

    failures = [f"session {record.index}: {failure}" for record in records for failure in record.failures]
    runs = sum(record.shown_tokens is not None for record in records)
    summary = {"sessions": SESSIONS, "runs": runs, "failures": len(failures), "wall_seconds": wall_seconds,
               "max_new_tokens": MAX_NEW_TOKENS, "records": [asdict(record) for record in records]}
    (ARTIFACT_DIR / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"concurrency: {SESSIONS} sessions, {runs} runs, {len(failures)} failures, {wall_seconds} s")

    assert failures == [], "\n".join(failures) + "\n" + read_log_tail(log_path)
    assert runs == SESSIONS
    assert "Traceback" not in log_path.read_text(encoding="utf-8", errors="replace")
