# The two commands that matter: `make run` and `make test`. Everything installs itself into .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install run test test-fast lint format system-deps lock clean

help:
	@echo "make run        install (if needed) and run the main job on embedded defaults"
	@echo "make test       install (if needed) and run the whole test suite"
	@echo "make test-fast  unit tests only"
	@echo "make lint       ruff check, ruff format --check, mypy src"
	@echo "make format     ruff format + autofix"
	@echo "make lock       re-resolve requirements.lock from pyproject.toml"

# uv (pinned in the lock) resolves and installs the locked set in parallel: about 20 s with its cache
# warm, where pip took 3-4 minutes of CI's budget. Unlike pip, uv compiles no bytecode unless asked: the
# first import would then compile, and print third-party SyntaxWarnings into the user's first run.
$(STAMP): pyproject.toml requirements.lock scripts/find-python
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$$(grep -E '^uv==' requirements.lock)"
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Tools the integration and container tests drive for real: Caddy as the reverse proxy, Docker's engine
# (scripts/container-engine starts a private one when none runs), Compose v1, debootstrap for the
# stand-in base images, and promtool and amtool for the alert rules and Alertmanager's configuration.
# Installed when missing and apt is usable, with the packages' services kept from starting (a policy-rc.d
# for the install); the tests that need them say so clearly when they are absent.
SYSTEM_TOOLS := caddy docker dockerd docker-compose debootstrap promtool amtool
SYSTEM_PACKAGES := caddy docker.io docker-compose debootstrap prometheus prometheus-alertmanager
system-deps:
	@missing=0; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing=1; done; \
	if [ $$missing = 1 ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		policy=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy=1; }; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
		[ $$policy = 0 ] || rm -f /usr/sbin/policy-rc.d; \
		for service in caddy prometheus prometheus-alertmanager; do systemctl disable --now $$service >/dev/null 2>&1 || true; done; \
	fi

run: install
	$(BIN)/alphapulse run

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src flows

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock:
	rm -rf .lock-venv
	"$$(scripts/find-python)" -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -viE '^(alphapulse|-e )' | sort -f > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .alphapulse .pytest_cache .mypy_cache .ruff_cache
