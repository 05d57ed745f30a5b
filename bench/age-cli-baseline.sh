#!/usr/bin/env bash
# bench/age-cli-baseline.sh — the stock age CLI encrypting and decrypting a
# 256 MiB file to an X25519 recipient, on this machine, in this run: the
# baseline that Valv's document and backup benchmarks are compared with.
set -euo pipefail
command -v age >/dev/null || { echo "age CLI not installed (scripts/deps test)"; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
age-keygen -o "$d/key.txt" 2>/dev/null
r=$(age-keygen -y "$d/key.txt")
head -c $((256 << 20)) /dev/urandom >"$d/plain"
mb=256
t0=$(date +%s.%N)
age -e -r "$r" -o "$d/enc" "$d/plain"
sync "$d/enc"
t1=$(date +%s.%N)
age -d -i "$d/key.txt" -o "$d/dec" "$d/enc"
t2=$(date +%s.%N)
cmp "$d/plain" "$d/dec"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v mb=$mb 'BEGIN {
	printf "BenchmarkAgeCLIEncrypt256MiB\t1\t%.0f ns/op\t%.1f MB/s\n", (b-a)*1e9, mb*1.048576/(b-a)
	printf "BenchmarkAgeCLIDecrypt256MiB\t1\t%.0f ns/op\t%.1f MB/s\n", (c-b)*1e9, mb*1.048576/(c-b)
}'
