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
for f in "$dir/gpt2.pt" "$dir/many.pt"; do
  torch_json=$(/usr/bin/python3 testdata/gen/bench_torch.py "$f")
  pth_json=$(/tmp/openbench "$f")
  /usr/bin/python3 - "$torch_json" "$pth_json" <<'PY'
import json, os, sys
t, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
size = os.path.getsize(p["file"]) / 1e6
print(f'{p["file"]}: {size:.0f} MB, {p["tensors"]} tensors')
print(f'  torch.load            {t["seconds"]*1e3:10.1f} ms   peak RSS {t["peak_rss_mb"]:.0f} MB')
print(f'  pth open+index        {p["open_index_seconds"]*1e3:10.1f} ms   peak RSS {p["peak_rss_mb_after_open"]:.0f} MB'
      f'   -> {t["seconds"]/p["open_index_seconds"]:.0f}x faster')
print(f'  pth read every tensor {p["read_all_seconds"]*1e3:10.1f} ms   {p["read_gb_per_s"]:.2f} GB/s')
PY
done
