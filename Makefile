# Two commands do all set-up on a fresh Debian machine (Python 3.11, root, no display):
#   make run [ROOT=/path/to/dataset]   set up, then open the window (demo dataset when ROOT is empty)
#   make test                          set up, then run the whole suite offscreen
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ROOT ?=

# Libraries Qt needs on a bare machine, plus Xvfb for a real window without a display.
QT_DEBS := libgl1 libegl1 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 \
           fonts-dejavu-core xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
           libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0
# Headless Chromium: the tests render the HTML report in a real browser and look at the screenshot.
TEST_DEBS := chromium

.PHONY: run test setup system-deps bench screenshots clean

setup: $(STAMP)

system-deps:
	@missing=$$(for p in $(QT_DEBS) $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,cluster]'
	touch $(STAMP)

run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ -n "$$QT_QPA_PLATFORM" ]; then \
	  $(PY) main.py $(ROOT); \
	else \
	  echo "No display found: opening the window on a virtual screen (Xvfb)."; \
	  xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) main.py $(ROOT); \
	fi

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

bench: $(STAMP)
	$(PY) main.py bench $(ROOT)

screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
