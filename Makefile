# News themes pipeline. `make help` lists the targets.
# The artifacts are make targets: `make pipeline` re-runs only the stages whose inputs, code or config changed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIPE   := $(PY) -m pipeline
INPUTS ?= seeds
OUT    ?= out
CONFIG ?= configs/default.yaml
ARGS   ?=
STAMPS := $(OUT)/.stamps
SHARED := pipeline/__init__.py pipeline/config.py pipeline/forkmap.py pipeline/artifacts.py pipeline/runner.py pipeline/text.py
INPUT_FILES := $(shell find $(INPUTS) -type f -not -name '.*' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help install pipeline update export test test-fast bench bench-embed bench-cluster bench-pipeline bench-ray bench-update compare clean FORCE

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its pinned dependencies

# One stamp per config section, rewritten only when that section changes.
$(STAMPS)/%.json: FORCE | $(VENV)/.installed
	@$(PIPE) config --config $(CONFIG) --stamps $(STAMPS) $(ARGS)

$(OUT)/articles.jsonl: $(INPUT_FILES) $(wildcard pipeline/ingest/*.py) $(SHARED) $(STAMPS)/ingest.json | $(VENV)/.installed
	$(PIPE) ingest $(INPUTS) --out $(OUT) --config $(CONFIG) $(ARGS)

$(OUT)/embeddings/index.json: $(OUT)/articles.jsonl $(wildcard pipeline/embed/*.py) $(SHARED) $(STAMPS)/embed.json
	$(PIPE) embed --out $(OUT) --config $(CONFIG) $(ARGS)

$(OUT)/clusters.json: $(OUT)/embeddings/index.json $(wildcard pipeline/cluster/*.py) $(SHARED) $(STAMPS)/cluster.json
	$(PIPE) cluster --out $(OUT) --config $(CONFIG) $(ARGS)

$(OUT)/summaries.json: $(OUT)/clusters.json $(wildcard pipeline/summarize/*.py) $(SHARED) $(STAMPS)/summarize.json
	$(PIPE) summarize --out $(OUT) --config $(CONFIG) $(ARGS)

$(OUT)/report.html: $(OUT)/summaries.json $(wildcard $(OUT)/changes.json) $(wildcard pipeline/report/*.py pipeline/report/assets/*) $(SHARED) $(STAMPS)/report.json
	$(PIPE) report --out $(OUT) --config $(CONFIG) $(ARGS)

pipeline: $(OUT)/report.html ## Run the pipeline on $(INPUTS) into $(OUT)/ (only what changed)

update: | $(VENV)/.installed ## Add new articles (INPUTS=...) to the themes of $(OUT)/; writes changes.json and the report
	$(PIPE) update $(INPUTS) --out $(OUT) --config $(CONFIG) $(ARGS)

export: $(OUT)/report.html ## Tables for spreadsheets (CSV and Parquet) in $(OUT)/exports/
	$(PIPE) export --out $(OUT)

# The tests also run the Ray engine against the local one, so they install the optional `ray` extra (the pipeline
# itself never needs it).
$(VENV)/.test-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,ray]'
	touch $@

test: $(VENV)/.test-installed ## Run the test suite (installs the test and ray extras)
	$(PY) -m pytest -q

test-fast: $(VENV)/.installed ## Run the tests that do not load the real model
	$(PY) -m pytest -q -m "not model and not browser"

bench: bench-embed bench-cluster bench-pipeline bench-update ## Print speed and memory figures (roofline, scale, cold vs warm, updates)

bench-embed: $(VENV)/.installed ## Embedding throughput vs a float32 roofline, cold vs warm, peak memory
	$(PY) benchmarks/bench_embed.py

bench-cluster: $(VENV)/.installed ## Clustering time and peak memory at 1k, 10k, 100k articles
	$(PY) benchmarks/bench_cluster.py

bench-pipeline: $(VENV)/.installed ## Whole pipeline on news2017 vs BERTopic's time to topics (ratio), cold vs warm, peak memory (installs the bench extra)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_pipeline.py

bench-update: $(VENV)/.installed ## Updates streamed in 10 batches vs one-shot runs; 1,000 new articles into 100,000
	$(PY) benchmarks/bench_update.py --scale 100000

bench-ray: $(VENV)/.installed ## Ray engine vs local engine on news2017, same cores (installs the ray extra)
	$(PY) -m pip install --quiet -e '.[ray]'
	$(PY) benchmarks/bench_ray.py

compare: $(VENV)/.installed ## Quality tables vs BERTopic and sumy (installs the bench extra)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/compare_clustering.py
	$(PY) benchmarks/cluster_ablation.py
	$(PY) benchmarks/compare_summarizers.py

clean: ## Remove the run folder
	rm -rf $(OUT)

FORCE:
