#!/usr/bin/env bash
# bench/age-cli-baseline.sh — issue #4's document targets against the
# stock age CLI, in the same run, on the same 1 GiB file, on the same disk:
#
#   add a 1 GiB document      ≥ 1.0× `age -e` to a file (and sync), peak RSS ≤ 128 MiB
#   export it (to a file)     ≥ 1.3× `age -d` to a file
#
# Each round runs, one after the other (with a sync before each, so that
# none pays for the previous one's writeback): age -e -o FILE + sync FILE,
# age -d -o FILE, then store's BenchmarkDocument1GiB (Add, Export; each
# in a child process that reports its own time and peak RSS). Each reads
# its input from the page cache: it is read whole just before (the
# development machine's kernel evicts page cache that was written and
# not read again within seconds, so that an input file written a few
# seconds before would otherwise be read from the disk, sometimes). The vault,
# the age output and the exports share one folder, by default under
# test-output/ in the repository (not /tmp, which may be tmpfs); set
# VALV_BENCH_DIR to use another. BENCH_DOC_ROUNDS rounds (default 3);
# BENCH_DOC_MIB sets the size (default 1024). The summary gives each
# ratio per round and the minimum and median.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v age >/dev/null || { echo "age CLI not installed (scripts/deps test)"; exit 1; }
export GOFLAGS="${GOFLAGS:--tags=x11 -buildvcs=false}"
rounds=${BENCH_DOC_ROUNDS:-3}
mib=${BENCH_DOC_MIB:-1024}
name="$((mib >> 10))GiB"
[ "$mib" -ge 1024 ] && [ $((mib % 1024)) -eq 0 ] || name="${mib}MiB"

base=${VALV_BENCH_DIR:-$PWD/test-output}
mkdir -p "$base"
d=$(mktemp -d "$base/docbench.XXXXXX")
trap 'rm -rf "$d"' EXIT
fs=$(stat -f -c %T "$d")
if [ "$fs" = tmpfs ]; then
	echo "$d is on tmpfs: set VALV_BENCH_DIR to a folder on disk"
	exit 1
fi

go test -c -o "$d/store.test" ./store
age-keygen -o "$d/key.txt" 2>/dev/null
r=$(age-keygen -y "$d/key.txt")
head -c $((mib << 20)) /dev/urandom >"$d/plain"
sync
echo "# $rounds rounds on $mib MiB, folder on $fs ($(df --output=source "$d" | tail -1))"

# timed CMD...: runs CMD and prints "<wall s> <user+sys s>" (bash's own
# timing of the command, so no external time(1) is needed).
timed() {
	local TIMEFORMAT='%R %U %S'
	{ time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%s %.3f\n", $1, $2 + $3 }'
}
line() { # name mib wall cpu
	awk -v n="$1" -v mib="$2" -v w="$3" -v c="$4" 'BEGIN {
		printf "%s\t1\t%.0f ns/op\t%.2f MB/s\t%.3f cpu-s/op\n", n, w*1e9, mib*1.048576/w, c }'
}
for i in $(seq "$rounds"); do
	rm -f "$d/enc" "$d/dec"
	sync
	cat "$d/plain" >/dev/null # from the page cache, as for Valv (see below)
	read -r w c < <(timed sh -c 'age -e -r "$1" -o "$2/enc" "$2/plain" && sync "$2/enc"' - "$r" "$d")
	line "BenchmarkAgeCLIEncrypt$name" "$mib" "$w" "$c"
	sync
	cat "$d/enc" >/dev/null
	read -r w c < <(timed age -d -i "$d/key.txt" -o "$d/dec" "$d/enc")
	line "BenchmarkAgeCLIDecrypt$name" "$mib" "$w" "$c"
	if [ "$i" = 1 ]; then cmp "$d/plain" "$d/dec"; fi
	rm -f "$d/dec"
	sync
	(cd "$d" && TMPDIR="$d" VALV_BENCH_PLAIN="$d/plain" ./store.test -test.run '^$' \
		-test.bench '^BenchmarkDocument1GiB$' -test.benchtime 1x) | grep '^Benchmark'
done | tee "$d/results"

# The summary: per round, Valv's MB/s over age's; then min and median.
awk '
function mbs(line,  f, i) { split(line, f, "\t"); for (i in f) if (f[i] ~ / MB\/s$/) return f[i] + 0 }
function peak(line,  f, i) { split(line, f, "\t"); for (i in f) if (f[i] ~ / peak-MiB$/) return f[i] + 0 }
function cpu(line,  f, i) { split(line, f, "\t"); for (i in f) if (f[i] ~ / cpu-s\/op$/) return f[i] + 0 }
/^BenchmarkAgeCLIEncrypt/ { enc = mbs($0); encc = cpu($0) }
/^BenchmarkAgeCLIDecrypt/ { dec = mbs($0); decc = cpu($0) }
/^BenchmarkDocument1GiB\/Add/ { n++; add[n] = mbs($0) / enc; rss[n] = peak($0); addc[n] = cpu($0) / encc }
/^BenchmarkDocument1GiB\/Export/ { exp_[n] = mbs($0) / dec; expc[n] = cpu($0) / decc }
function sort(a, k,  i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
function median(a, k) { return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2 }
END {
	if (n == 0) { print "no Valv results"; exit 1 }
	for (i = 1; i <= n; i++) printf "# round %d: add %.2fx age -e (peak RSS %.1f MiB, %.1fx its CPU time), export %.2fx age -d (%.1fx its CPU time)\n", i, add[i], rss[i], addc[i], exp_[i], expc[i]
	sort(add, n); sort(exp_, n); sort(rss, n)
	printf "# add    / age -e: min %.2fx median %.2fx (target >= 1.0x)\n", add[1], median(add, n)
	printf "# export / age -d: min %.2fx median %.2fx (target >= 1.3x)\n", exp_[1], median(exp_, n)
	printf "# add peak RSS: median %.1f MiB, max %.1f MiB (target <= 128 MiB)\n", median(rss, n), rss[n]
}' "$d/results"
