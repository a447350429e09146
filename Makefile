# Two entry points: `make run` serves the demo world, `make test` lints and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/meshfab serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# The browser tests drive a real Chromium: Debian's package where apt-get exists (as on CI), else Playwright's own.
browser: $(STAMP)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; then exit 0; fi; \
	if $(BIN)/playwright install chromium; then exit 0; fi; \
	echo "No Chromium for the browser tests: run 'sudo apt-get install -y chromium' (or '$(BIN)/playwright install chromium')" >&2; \
	exit 1

test: lint browser
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
