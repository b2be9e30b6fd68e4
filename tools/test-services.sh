#!/usr/bin/env bash
# What the test suite needs around the Python environment, installed when missing:
# - Debian's chromium (the report and web-map browser tests),
# - Debian's nginx and PostgreSQL 15 + PostGIS (COGs over HTTP with range requests and the pgstac
#   database behind the STAC API the remote-input tests start on 127.0.0.1).
# Installing needs root and apt-get; without them the affected tests skip and say why (under CI=true
# they fail instead, so a broken set-up is never hidden). The tests start their own server processes
# on free ports; Debian's default services are not used.
set -uo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15 postgresql-15-postgis-3)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages for the tests: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || echo "could not install ${missing[*]}; the tests that need them will say so"
else
    echo "not installed: ${missing[*]} (needs root: apt-get install -y ${missing[*]}); the tests that need them will skip"
fi
exit 0
