#!/usr/bin/env bash
# bench/backup-baseline.sh — issue #5's backup target against cp + sync
# and the stock age CLI, in the same run, on the same vault files, on
# the same disk:
#
#   backup of a 1 GiB vault, write phase (snapshot, encrypt, write,
#   fsync)                        >= 0.9x cp + sync
#
# store/backup's BenchmarkBackup1GiB makes a vault of BENCH_BACKUP_MIB
# MiB (default 1024) once, then runs BENCH_BACKUP_ROUNDS rounds (default
# 3), each of them, one after the other with a sync and the vault files
# read into the page cache before each: valv's backup into another folder
# (the write phase, then the read-back verify from the medium), cp of the
# vault files + sync, and tar -c | age -e + sync. Each round prints wall
# and CPU seconds (user + system: the machine may be shared, and CPU time
# says what each costs whatever the load); the summary gives, per round
# and as min and median, the throughput ratios of valv's write phase and
# of the whole backup (with the verify) over cp + sync and over tar |
# age, and each one's CPU seconds. The folders are under test-output/
# (not /tmp, which may be tmpfs); set VALV_BENCH_DIR to use another.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v age >/dev/null || { echo "age CLI not installed (scripts/deps test)"; exit 1; }
export GOFLAGS="${GOFLAGS:--tags=x11 -buildvcs=false}"
rounds=${BENCH_BACKUP_ROUNDS:-3}
mib=${BENCH_BACKUP_MIB:-1024}

base=${VALV_BENCH_DIR:-$PWD/test-output}
mkdir -p "$base"
d=$(mktemp -d "$base/backupbench.XXXXXX")
trap 'rm -rf "$d"' EXIT
fs=$(stat -f -c %T "$d")
if [ "$fs" = tmpfs ]; then
	echo "$d is on tmpfs: set VALV_BENCH_DIR to a folder on disk"
	exit 1
fi
go test -c -o "$d/backup.test" ./store/backup
echo "# $rounds rounds on a $mib MiB vault, folder on $fs ($(df --output=source "$d" | tail -1)), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$d" && TMPDIR="$d" VALV_BENCH_MIB="$mib" ./backup.test -test.run '^$' \
	-test.bench '^BenchmarkBackup1GiB$' -test.benchtime "${rounds}x") | tee "$d/results" | grep -E '^(Benchmark|# backup round)'

# A round line: "# backup round N: S MiB snapshot, F MiB files; wall/cpu s:
# write W C verify W C cp+sync W C tar|age W C". Ratios are of throughput:
# the snapshot's bytes per second of valv over the files' bytes per
# second of the other (the files are a little larger than the snapshot).
awk '
function sort(a, k,  i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
function median(a, k) { return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2 }
/^# backup round/ {
	n++
	for (i = 1; i <= NF; i++) {
		if ($i == "snapshot,") snap = $(i-2)
		if ($i == "files;") files = $(i-2)
		if ($i == "write") { ww = $(i+1); wc = $(i+2) }
		if ($i == "verify") { vw = $(i+1); vc = $(i+2) }
		if ($i == "cp+sync") { cw = $(i+1); cc = $(i+2) }
		if ($i == "tar|age") { aw = $(i+1); ac = $(i+2) }
	}
	k = snap / files
	wcp[n] = k * cw / ww; acp[n] = k * cw / (ww + vw)
	wage[n] = k * aw / ww; aage[n] = k * aw / (ww + vw)
	printf "# round %d: write phase %.2fx cp+sync, %.2fx tar|age; whole backup %.2fx cp+sync, %.2fx tar|age; CPU s: write %.2f verify %.2f cp+sync %.2f tar|age %.2f\n", n, wcp[n], wage[n], acp[n], aage[n], wc, vc, cc, ac
	cpu_w[n] = wc; cpu_v[n] = vc; cpu_c[n] = cc; cpu_a[n] = ac
}
END {
	if (n == 0) { print "no backup rounds"; exit 1 }
	sort(wcp, n); sort(acp, n); sort(wage, n); sort(aage, n)
	sort(cpu_w, n); sort(cpu_v, n); sort(cpu_c, n); sort(cpu_a, n)
	printf "# write phase / cp+sync:  min %.2fx median %.2fx (target >= 0.9x)\n", wcp[1], median(wcp, n)
	printf "# whole backup / cp+sync: min %.2fx median %.2fx\n", acp[1], median(acp, n)
	printf "# write phase / tar|age:  min %.2fx median %.2fx\n", wage[1], median(wage, n)
	printf "# whole backup / tar|age: min %.2fx median %.2fx\n", aage[1], median(aage, n)
	printf "# CPU s (median): write %.2f, verify %.2f, cp+sync %.2f, tar|age %.2f\n", median(cpu_w, n), median(cpu_v, n), median(cpu_c, n), median(cpu_a, n)
}' "$d/results"
