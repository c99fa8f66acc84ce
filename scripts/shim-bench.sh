#!/usr/bin/env bash
# Benchmark containerd-shim-rtlayer-v1 (runc backend) against containerd's own
# containerd-shim-runc-v2, side by side in one run on one private containerd:
#   1. latency: `ctr run --rm --rootfs DIR ID /bin/true`, N times each, interleaved; medians
#      and their ratio (ours / Go's);
#   2. memory: K containers (`sleep`) kept running through each shim; the shims' RSS
#      (VmRSS), USS (private pages) and PSS (proportional share), mean per running container;
#   3. CPU: utime+stime of those shims (create, start, then IDLE seconds running), mean per shim.
# Usage (root): scripts/shim-bench.sh [N=30] [K=5] [IDLE=10]
set -euo pipefail
N=${1:-30}
K=${2:-5}
IDLE=${3:-10}
cd "$(dirname "$0")/.."

cargo build --profile shim -q -p shim -p backend-runc
BIN=$PWD/target/shim
WORK=$(mktemp -d /tmp/rtl-shim-bench.XXXXXX)
SOCK=$WORK/containerd.sock
NS=shim-bench
cat > "$WORK/config.toml" <<TOML
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
TOML
PATH="$BIN:$PATH" containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CTD=$!
CTR=(ctr -a "$SOCK" -n "$NS")
cleanup() {
  for id in $("${CTR[@]}" task ls -q 2>/dev/null); do "${CTR[@]}" task rm -f "$id" >/dev/null 2>&1 || true; done
  for id in $("${CTR[@]}" c ls -q 2>/dev/null); do "${CTR[@]}" c rm "$id" >/dev/null 2>&1 || true; done
  kill "$CTD" 2>/dev/null || true
  wait "$CTD" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done

ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for c in sh true sleep; do ln -sf busybox "$ROOTFS/bin/$c"; done

GO=io.containerd.runc.v2
OURS=io.containerd.rtlayer.v1
now() { date +%s%N; }
: > "$WORK/lat"
# Warm-up, one each.
"${CTR[@]}" run --rm --runtime $GO --rootfs "$ROOTFS" w-go /bin/true
"${CTR[@]}" run --rm --runtime $OURS --rootfs "$ROOTFS" w-ours /bin/true
for i in $(seq "$N"); do
  for rt in $GO $OURS; do
    t0=$(now)
    "${CTR[@]}" run --rm --runtime $rt --rootfs "$ROOTFS" "l-$i-${rt//./-}" /bin/true
    t1=$(now)
    echo "$rt $(( (t1 - t0) / 1000 ))" >> "$WORK/lat"
  done
done

shim_pids() { # $1: binary name
  for p in /proc/[0-9]*; do
    # (comm is cut at 15 characters, the same for both shims: match argv[0] instead.)
    local cmd
    cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
    if [ "$(basename "${cmd%% *}")" = "$1" ] && [[ "$cmd" == *"-address $SOCK"* ]]; then
      basename "$p"
    fi
  done
}
for i in $(seq "$K"); do
  "${CTR[@]}" run -d --null-io --runtime $GO --rootfs "$ROOTFS" "m-go-$i" /bin/sleep 1000
  "${CTR[@]}" run -d --null-io --runtime $OURS --rootfs "$ROOTFS" "m-ours-$i" /bin/sleep 1000
done
sleep "$IDLE"
CLK=$(getconf CLK_TCK)
measure() { # $1: binary name -> "count rss_kib uss_kib pss_kib cpu_ticks" (totals)
  local n=0 rss=0 uss=0 pss=0 cpu=0
  for p in $(shim_pids "$1"); do
    n=$((n + 1))
    rss=$((rss + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status")))
    # USS: pages only this shim maps (private clean + dirty); PSS: its share of every page.
    uss=$((uss + $(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$p/smaps_rollup")))
    pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
    cpu=$((cpu + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$n $rss $uss $pss $cpu"
}
read -r GO_N GO_RSS GO_USS GO_PSS GO_CPU < <(measure containerd-shim-runc-v2)
read -r OU_N OU_RSS OU_USS OU_PSS OU_CPU < <(measure containerd-shim-rtlayer-v1)

python3 - "$WORK/lat" "$GO_N" "$GO_RSS" "$GO_CPU" "$OU_N" "$OU_RSS" "$OU_CPU" "$CLK" "$K" "$IDLE" \
    "$GO_USS" "$GO_PSS" "$OU_USS" "$OU_PSS" <<'PY'
import statistics, sys
lat, gn, grss, gcpu, on, orss, ocpu, clk, k, idle, guss, gpss, ouss, opss = sys.argv[1:]
rows = [l.split() for l in open(lat)]
go = [int(v) for r, v in rows if r == "io.containerd.runc.v2"]
ours = [int(v) for r, v in rows if r == "io.containerd.rtlayer.v1"]
mg, mo = statistics.median(go), statistics.median(ours)
print(f"ctr run --rm /bin/true, {len(go)} runs each, interleaved:")
print(f"  containerd-shim-runc-v2     median {mg/1000:8.1f} ms")
print(f"  containerd-shim-rtlayer-v1  median {mo/1000:8.1f} ms")
print(f"  latency ratio (ours/go)     {mo/mg:.2f}x  (target <= 1.0x)")
gn, on, clk = int(gn), int(on), int(clk)
print(f"{k} running containers per shim, after {idle}s idle (CPU from /proc/PID/stat, in clock ticks of {1000//clk} ms):")
print(f"  containerd-shim-runc-v2     {gn} shims, RSS {int(grss)/max(gn,1)/1024:6.1f} MiB per container, CPU {int(gcpu)/clk/max(gn,1)*1000:7.1f} ms per shim")
print(f"  containerd-shim-rtlayer-v1  {on} shims, RSS {int(orss)/max(on,1)/1024:6.1f} MiB per container, CPU {int(ocpu)/clk/max(on,1)*1000:7.1f} ms per shim")
print(f"  RSS ratio (ours/go)         {(int(orss)/max(on,1))/(int(grss)/max(gn,1)):.2f}  (target <= 0.33)")
# RSS counts the file pages of the binaries (shared by every shim of the same binary); USS is
# what one more container costs, PSS its fair share of everything.
for name, g, o in (("USS", guss, ouss), ("PSS", gpss, opss)):
    gv, ov = int(g) / max(gn, 1) / 1024, int(o) / max(on, 1) / 1024
    print(f"  {name} per container: go {gv:6.1f} MiB, ours {ov:6.1f} MiB, ratio {ov/gv:.2f}")
PY
