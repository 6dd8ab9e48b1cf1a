# Two commands do everything on a fresh machine:
#   make run    install (venv + pinned requirements) and start the app on localhost:8501
#   make test   install the test requirements too, and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: run test install install-test chromium lint bench pretrained clean

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: install-test chromium
	$(PY) -m ruff check unetviz pages tests app.py benchmarks
	$(PY) -m pytest -q

install: $(VENV)/.installed-app
install-test: $(VENV)/.installed-test

$(VENV)/.installed-app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed-app
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

# Debian's chromium for the browser tests: installed when missing and running as root;
# elsewhere the browser tests skip with the reason (and fail under CI=true).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "chromium is missing and this is not root: browser tests will skip"; fi

lint: install-test
	$(PY) -m ruff check unetviz pages tests app.py benchmarks

bench: install-test
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

# Retrain the shipped models (see pretrained/*.md for the exact runs).
pretrained: install
	$(PY) -m unetviz.pretrain inversion
	$(PY) -m unetviz.pretrain membrane --data ../shared/data/isbi2012-membrane
	$(PY) -m unetviz.pretrain membrane-bn --data ../shared/data/isbi2012-membrane --epochs 30 --steps 200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
