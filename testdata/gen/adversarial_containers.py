#!/usr/bin/python3
"""Hand-built PyTorch container files for the root package's tests, each checked
by loading it with real PyTorch (Debian's python3-torch 1.13), which records what
it sees in testdata/containers/manifest.json (the schema of
testdata/fixtures/manifest.json).

    /usr/bin/python3 testdata/gen/adversarial_containers.py

Files:
  legacy_view.pt      the legacy stream with the old 6-tuple persistent id form
                      whose last item is view_metadata (view_key, offset, size):
                      a tensor over a *view* storage that is a slice of a root
                      storage. torch 1.13 no longer writes it but still reads it
                      (_legacy_load's persistent_load).
  legacy_int_keys.pt  the legacy stream with storage keys that look like the
                      pointers (str(_cdata)) old versions wrote, listed in
                      sorted order as _legacy_save does, with a tensor sharing
                      a storage at an offset.
"""

import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "containers")

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
SYS_INFO = dict(protocol_version=PROTOCOL_VERSION, little_endian=True,
                type_sizes=dict(short=2, int=4, long=4))


class Storage:
    """Stands for a storage in the object pickle; persistent_id turns it into a pid."""

    def __init__(self, key, cls, numel, view=None):
        self.key, self.cls, self.numel, self.view = key, cls, numel, view


class Tensor:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel, obj.view)
        return None


def legacy_stream(obj, storages):
    """storages: list of (key, raw little-endian bytes, element size), written in sorted key order."""
    f = io.BytesIO()
    pickle.dump(MAGIC, f, protocol=2)
    pickle.dump(PROTOCOL_VERSION, f, protocol=2)
    pickle.dump(SYS_INFO, f, protocol=2)
    Pickler(f, protocol=2).dump(obj)
    keys = sorted(k for k, _, _ in storages)
    pickle.dump(keys, f, protocol=2)
    by_key = {k: (b, es) for k, b, es in storages}
    for k in keys:
        b, es = by_key[k]
        f.write(struct.pack("<q", len(b) // es))
        f.write(b)
    return f.getvalue()


def tensor_record(t, path, groups):
    t = t.detach()
    cd = t.storage()._cdata
    g = groups.setdefault(cd, len(groups))
    b = t.contiguous().numpy().tobytes()
    return {
        "path": path, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
        "stride": list(t.stride()), "storage_offset": t.storage_offset(),
        "sha256": hashlib.sha256(b).hexdigest(), "requires_grad": t.requires_grad,
        "is_parameter": isinstance(t, torch.nn.Parameter), "location": "cpu", "storage_group": g,
    }


def record(path, description):
    obj = torch.load(path, map_location="cpu")
    groups, tensors = {}, []
    for k, v in obj.items():
        tensors.append(tensor_record(v, k, groups))
    return {"file": os.path.relpath(path, os.path.join(HERE, "..", "..")), "format": "torch-legacy",
            "pickle_protocol": 2, "description": description, "tensors": tensors, "values": [],
            "shared": [], "weights_only_ok": True, "unsafe_globals": [], "large": False,
            "containers": [{"path": "", "type": "dict"}]}


def main():
    os.makedirs(OUT, exist_ok=True)
    fixtures = []

    # legacy_view.pt: root storage "1" of 10 floats; view storage "2" = elements [2, 6).
    data = struct.pack("<10f", *[float(i) for i in range(10)])
    root = Storage("1", torch.FloatStorage, 10)
    view = Storage("1", torch.FloatStorage, 10, view=("2", 2, 4))
    obj = {"base": Tensor(root, 0, (10,), (1,)), "window": Tensor(view, 1, (3,), (1,)),
           "window2d": Tensor(view, 0, (2, 2), (2, 1))}
    path = os.path.join(OUT, "legacy_view.pt")
    with open(path, "wb") as f:
        f.write(legacy_stream(obj, [("1", data, 4)]))
    fixtures.append(record(path, "legacy stream, old view_metadata persistent ids (a view storage of a root storage)"))

    # legacy_int_keys.pt: pointer-like keys, sorted as strings; a shared storage at an offset.
    a = struct.pack("<6q", *range(-3, 3))
    b = struct.pack("<4d", 0.5, -1.5, 2.25, 1e300)
    sa = Storage("94823749283744", torch.LongStorage, 6)
    sb = Storage("140230223168", torch.DoubleStorage, 4)
    obj = {"longs": Tensor(sa, 0, (2, 3), (3, 1)), "tail": Tensor(sa, 4, (2,), (1,)),
           "doubles_t": Tensor(sb, 0, (2, 2), (1, 2))}
    path = os.path.join(OUT, "legacy_int_keys.pt")
    with open(path, "wb") as f:
        f.write(legacy_stream(obj, [("94823749283744", a, 8), ("140230223168", b, 8)]))
    fixtures.append(record(path, "legacy stream, pointer-like storage keys in sorted order, shared storage, transposed view"))

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "fixtures": fixtures}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
