#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium (the tests drive /usr/bin/chromium;
# nothing downloads a browser of its own) and the pinned playwright-core from package-lock.json
# into node_modules. Safe to run again: it only installs what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs apt-get as root, or through sudo without a password prompt, or says what to do.
apt_install() {
  local runner=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      echo "bootstrap: please install $* (apt-get install $*), then run this again" >&2
      exit 1
    fi
  fi
  echo "bootstrap: installing $* with apt-get (once)"
  "${runner[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# npm records what it installed in node_modules/.package-lock.json; reinstall when the
# project's lock file is newer or playwright-core is absent.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] \
  || [ ! -d node_modules/playwright-core ]; then
  echo "bootstrap: installing playwright-core from package-lock.json"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
