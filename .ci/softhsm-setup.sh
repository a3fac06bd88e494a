#!/usr/bin/env bash
# softhsm-setup.sh DIR
#
# Sets up a SoftHSM token for the PKCS#11 key backend's tests
# (internal/keyvault/pkcs11). Idempotent; runs as root on Debian.
#
#   - installs softhsm2 and opensc with apt-get if they are missing
#     (apt-get update runs only when something must be installed);
#   - creates DIR with its own softhsm2.conf and token directory;
#   - initialises the token "kustodian-test" unless it already exists, with a
#     random user PIN kept in DIR/user.pin (mode 0600) so that reruns reuse it;
#   - prints, and only prints, shell export lines on stdout. Everything else
#     goes to stderr, so the intended use is:
#
#       eval "$(bash .ci/softhsm-setup.sh /tmp/kustodian-softhsm)"
#       go test ./internal/keyvault/pkcs11/
#
# The PIN protects a throwaway test token only; never point this script at a
# real HSM.
set -euo pipefail

label=kustodian-test

log() { printf 'softhsm-setup: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
	die "usage: $0 DIR   (e.g. $0 /tmp/kustodian-softhsm)"
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in softhsm2 opensc; do
	installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! installed softhsm2; then
		apt-get update -q >&2
	fi
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
command -v softhsm2-util >/dev/null || die "softhsm2-util not found after installing softhsm2"

# Locate the PKCS#11 module. Debian ships it under the multiarch directory
# with a compatibility symlink in /usr/lib/softhsm.
module=""
for candidate in \
	/usr/lib/softhsm/libsofthsm2.so \
	"/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/softhsm/libsofthsm2.so" \
	/usr/local/lib/softhsm/libsofthsm2.so; do
	if [ -f "$candidate" ]; then
		module=$candidate
		break
	fi
done
if [ -z "$module" ]; then
	module=$(dpkg -L libsofthsm2 softhsm2 2>/dev/null | grep '/libsofthsm2\.so$' | head -n 1 || true)
fi
if [ -z "$module" ] || [ ! -f "$module" ]; then
	die "libsofthsm2.so not found"
fi

mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
chmod 0700 "$dir"
mkdir -p "$dir/tokens"

conf="$dir/softhsm2.conf"
cat >"$conf" <<EOF
# Written by .ci/softhsm-setup.sh: a SoftHSM configuration for tests only.
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$conf"

token_exists() {
	softhsm2-util --show-slots 2>/dev/null | grep -Eq "^[[:space:]]*Label:[[:space:]]+${label}[[:space:]]*\$"
}

pinfile="$dir/user.pin"
if token_exists && [ ! -s "$pinfile" ]; then
	# The PIN of the existing token is lost: start the test token afresh.
	log "token $label exists but $pinfile is missing; recreating the token"
	rm -rf "${dir:?}/tokens"
	mkdir -p "$dir/tokens"
fi

if ! token_exists; then
	umask 077
	pin=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	sopin=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pin" >"$pinfile"
	log "initialising token $label in $dir/tokens"
	softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$sopin" >&2
	token_exists || die "token $label was not created"
fi
pin=$(head -n 1 "$pinfile")

printf 'export SOFTHSM2_CONF=%q\n' "$conf"
printf 'export KUSTODIAN_PKCS11_MODULE=%q\n' "$module"
printf 'export KUSTODIAN_PKCS11_TOKEN_LABEL=%q\n' "$label"
printf 'export KUSTODIAN_PKCS11_PIN=%q\n' "$pin"
printf 'export KUSTODIAN_TEST_PKCS11=1\n'
