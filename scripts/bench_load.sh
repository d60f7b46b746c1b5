#!/usr/bin/env bash
# Times torch.load against pth (open + index every tensor; read every tensor's bytes)
# on the same files in the same run, and prints the ratios. Figures go to BENCHMARKS.md.
#
#   scripts/bench_load.sh [DIR]     (DIR defaults to testdata/fixtures/large)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-testdata/fixtures/large}
mkdir -p "$dir"
if [ ! -f "$dir/gpt2.pt" ] || [ ! -f "$dir/many.pt" ]; then
  /usr/bin/python3 testdata/gen/bench_gen.py "$dir"
fi
go build -o /tmp/openbench ./internal/benchtools/openbench
# Cold: each side's best first load in a fresh process (3 processes each, as
# a one-off script sees it). Warm: best of repeated loads in one process.
for f in "$dir/gpt2.pt" "$dir/many.pt"; do
  torch_json=$(/usr/bin/python3 testdata/gen/bench_torch.py "$f")
  pth_json=$(for i in 1 2 3; do /tmp/openbench "$f"; done)
  /usr/bin/python3 - "$torch_json" "$pth_json" <<'PY'
import json, os, sys
t = json.loads(sys.argv[1])
runs = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
p = min(runs, key=lambda r: r["open_index_seconds"])
cold = min(r["cold_open_index_seconds"] for r in runs)
cold_cpu = min(r["cold_open_index_cpu_seconds"] for r in runs)
size = os.path.getsize(p["file"]) / 1e6
print(f'{p["file"]}: {size:.0f} MB, {p["tensors"]} tensors')
print(f'  cold  torch.load      {t["seconds"]*1e3:10.1f} ms (cpu {t["cpu_seconds"]*1e3:.1f} ms)   peak RSS {t["peak_rss_mb"]:.0f} MB')
print(f'  cold  pth open+index  {cold*1e3:10.1f} ms (cpu {cold_cpu*1e3:.1f} ms)   peak RSS {p["peak_rss_mb_after_open"]:.0f} MB'
      f'   -> {t["seconds"]/cold:.0f}x faster (cpu {t["cpu_seconds"]/cold_cpu:.0f}x)')
print(f'  warm  torch.load      {t["warm_seconds"]*1e3:10.1f} ms')
print(f'  warm  pth open+index  {p["open_index_seconds"]*1e3:10.1f} ms   -> {t["warm_seconds"]/p["open_index_seconds"]:.0f}x faster')
print(f'  pth read every tensor {p["read_all_seconds"]*1e3:10.1f} ms   {p["read_gb_per_s"]:.2f} GB/s')
PY
done
