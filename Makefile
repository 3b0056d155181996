# Every target installs what it is missing first, so a fresh Debian machine needs only `make`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_BINARIES := monerod monero-wallet-rpc dot openssl chromium chromedriver cc
# Preloaded into monerod and wallet-rpc under Shadow (docs/shadow.md): built with the machine's compiler.
MONERO_SHADOW := build/monero_shadow.so

.PHONY: run test bench docs schema deps system clean

system:
	@missing=0; for b in $(SYSTEM_BINARIES); do command -v $$b >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing monero, graphviz, openssl, chromium and its driver, gcc (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq monero graphviz openssl chromium chromium-driver gcc libc6-dev >/dev/null; \
	fi

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

$(MONERO_SHADOW): sim/shadow/monero_shadow.c | system
	@mkdir -p $(@D)
	cc -O2 -Wall -shared -fPIC -o $@ $<

deps: system $(STAMP) $(MONERO_SHADOW)

# The small scenario, then its report (report.html's path is the last line printed).
run: deps
	@out=runs/small-$$(date +%Y%m%d-%H%M%S); \
	$(VENV)/bin/monerosim run scenarios/small.yaml --out $$out; status=$$?; \
	if [ -d $$out/journals ]; then echo "Report: $$($(VENV)/bin/monerosim report $$out)"; fi; \
	exit $$status

test: deps
	$(PY) -m pytest

bench: deps
	$(PY) -m bench

ROLE_TREES := controller pool user marketplace selfish-pool

# Pictures of the role trees for docs/roles.md.
docs: deps
	@mkdir -p docs/trees
	@for t in $(ROLE_TREES); do $(VENV)/bin/tree-runner render trees/$$t.yaml -o docs/trees/$$t.svg || exit 1; done
	@$(VENV)/bin/tree-runner docs -o docs/behaviours.md && echo docs/behaviours.md
	@$(VENV)/bin/monerosim schema --markdown -o docs/scenario.md && echo docs/scenario.md
	@$(PY) -m lang.events -o docs/journal.md && echo docs/journal.md
	@echo "docs/trees/{$$(echo $(ROLE_TREES) | tr ' ' ,)}.svg"

# The editor schemas follow the leaf registry and sim/scenario/schema.py, the status journal's
# ipc/status.py; a test checks they are current.
schema: deps
	$(VENV)/bin/tree-runner schema -o docs/tree.schema.json
	$(VENV)/bin/monerosim schema -o docs/scenario.schema.json
	$(VENV)/bin/monerosim schema --status -o docs/status.schema.json

clean:
	rm -rf $(VENV) runs *.egg-info
