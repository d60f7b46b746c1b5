#!/usr/bin/python3
"""PyTorch's side of the conversion benchmark in BENCHMARKS.md: torch.load a .pt file and
write its tensors as safetensors (with the spec writer of st_fixtures.py, since the Python
safetensors package is not installable here).

    /usr/bin/time -v /usr/bin/python3 testdata/gen/bench_torch_convert.py IN.pt OUT.safetensors
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from st_fixtures import st_write, torch_bytes, TORCH_CODE  # noqa: E402

t0 = time.time()
sd = torch.load(sys.argv[1], map_location="cpu")
st_write(sys.argv[2], [(k, TORCH_CODE[v.dtype], list(v.shape), torch_bytes(v)) for k, v in sd.items()], {"format": "pt"})
print("torch.load + write: %.3f s" % (time.time() - t0), file=sys.stderr)
