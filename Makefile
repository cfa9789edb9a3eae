# assina — `make run` serves on http://127.0.0.1:8000 (PORT=, HOST= to change); `make test` runs the whole suite.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3
# Where `make run` serves: `make run PORT=8010 HOST=0.0.0.0`.
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The Node.js webhook receiver of docs/webhooks.md, which the tests run.
NODE_RECEIVER := examples/receivers/node

.PHONY: install receivers run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

receivers: $(NODE_RECEIVER)/node_modules/.package-lock.json

$(NODE_RECEIVER)/node_modules/.package-lock.json: $(NODE_RECEIVER)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(NODE_RECEIVER) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Node.js receiver's tests will be skipped"; fi

run: install
	$(BIN)/assina init
	$(BIN)/assina serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy --strict src

test: lint typecheck receivers
	$(BIN)/pytest -n 2

bench: install
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(NODE_RECEIVER)/node_modules
