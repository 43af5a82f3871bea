# `make up` deploys the dev stack; `make test` runs every test. See README.md.
VENV := venv
PYTHON := $(VENV)/bin/python
STACK ?= dev
# dev holds no secrets: its passphrase is empty, and Pulumi.dev.yaml carries the salt made for that
# passphrase, so `make up` leaves the committed file as it is. Other stacks take yours.
ifeq ($(STACK),dev)
export PULUMI_CONFIG_PASSPHRASE :=
else
export PULUMI_CONFIG_PASSPHRASE ?=
endif

# The stack's exceptions to the policy pack's rules, where it declares any (policy/README.md).
POLICY_CONFIG := $(if $(wildcard policy/config/$(STACK).json),--policy-pack-config policy/config/$(STACK).json)

# A CLI that scripts/ensure_pulumi.py installed into the project, where none was on PATH.
export PATH := $(CURDIR)/.pulumi-cli/bin:$(PATH)

.PHONY: up recover preview destroy test unit policy graph picture config-reference cli schema

$(VENV)/.installed: requirements.txt requirements-test.txt policy/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

cli: $(VENV)/.installed
	@$(PYTHON) scripts/ensure_pulumi.py >/dev/null

# Every up first recovers what a killed one left (a stale lock, objects made but never recorded):
# at once when there is nothing to recover, and it stops, saying why, where it can't (docs/day-2.md).
up: cli
	pulumi stack select --create $(STACK) --secrets-provider passphrase
	@$(PYTHON) -m scripts.recover --stack $(STACK)
	pulumi up --yes --stack $(STACK)

recover: cli
	$(PYTHON) -m scripts.recover --stack $(STACK)

preview: cli
	pulumi stack select --create $(STACK) --secrets-provider passphrase
	pulumi preview --diff --stack $(STACK) --policy-pack policy $(POLICY_CONFIG)

destroy:
	pulumi destroy --yes --stack $(STACK)

test: $(VENV)/.installed
	$(PYTHON) -m pytest

unit: $(VENV)/.installed
	$(PYTHON) -m pytest tests/unit

# The policy pack's rules, and the pack over each stack's graph under mocks (no CLI needed).
policy: $(VENV)/.installed
	$(PYTHON) -m pytest tests/policy

graph: $(VENV)/.installed
	$(PYTHON) -m tests.support.graph

# docs/dev.svg and docs/cluster.svg, drawn from the program under mocks (a unit test compares them).
picture: $(VENV)/.installed
	$(PYTHON) -m scripts.picture

# docs/configuration.md's table of keys, from Pulumi.yaml and the config parser (a unit test compares them).
config-reference: $(VENV)/.installed
	$(PYTHON) scripts/config_reference.py

# provider/schema.json, after a change to a component's args or outputs (a unit test compares them).
schema: $(VENV)/.installed
	$(PYTHON) scripts/provider_schema.py
