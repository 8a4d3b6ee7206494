#!/usr/bin/env bash
# Installs, from Debian's packages, the independent tools the test suite
# compares against. Idempotent: packages already present are not touched.
# Without root it only reports what is missing; those tests then skip.
set -euo pipefail

pkgs=(tshark tcpdump python3 libpcap-dev clang llvm libbpf-dev bpftool iproute2
      unbound bind9-dnsutils dnsperf netsniff-ng softflowd pmacct prometheus
      dnsmasq-base udhcpc bird2 tmux curl systemd)
# Not in Debian: helm (test/deploy renders the chart with it), built from
# the Go module proxy into /usr/local/bin; about five minutes the first time.
helm_module=helm.sh/helm/v3/cmd/helm@v3.17.3

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_helm=0
command -v helm >/dev/null || need_helm=1
[ ${#missing[@]} -eq 0 ] && [ $need_helm -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  [ $need_helm -eq 1 ] && missing+=(helm)
  echo "test-deps: not root; missing ${missing[*]} (tests that need them will skip)" >&2
  exit 0
fi
if [ $need_helm -eq 1 ]; then
  echo "test-deps: building $helm_module" >&2
  GOBIN=/usr/local/bin go install "$helm_module" ||
    echo "test-deps: could not build helm; the helm tests in test/deploy will skip" >&2
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "test-deps: no apt-get; missing ${missing[*]} (tests that need them will skip)" >&2
  exit 0
fi
echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the tests start their own instances.
for svc in unbound prometheus softflowd bird; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
