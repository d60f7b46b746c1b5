#!/usr/bin/python3
"""Records the weights-only allow-list of the installed PyTorch.

Run: /usr/bin/python3 testdata/gen/weights_only_allowlist.py > internal/safeglobals/testdata/torch_allowed.json
"""
import json
import torch
from torch import _weights_only_unpickler as w

print(json.dumps({"torch_version": torch.__version__,
                  "allowed": sorted(w._get_allowed_globals().keys())}, indent=1))
