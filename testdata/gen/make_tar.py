#!/usr/bin/python3
"""Build PyTorch <=0.3 tar checkpoints byte for byte as torch 1.13's reader expects.

torch 1.13 can no longer write this format but still reads it: `legacy_load`
inside `_legacy_load` in torch/serialization.py. This script writes what
PyTorch 0.3's `_save` wrote, following that reader:

  a PAX tar (tarfile.PAX_FORMAT) with four regular members, in 0.3's order:
  sys_info  pickle({'protocol_version': 1000, 'little_endian': True,
                    'type_sizes': {'short': 2, 'int': 4, 'long': 4}})
  pickle    the object, protocol 2; every tensor (and bare storage) is a
            persistent id str(key), which the reader turns back with int(key)
  tensors   pickle(n), then per tensor: pickle((key, storage_key, tensor type
            global e.g. torch.FloatTensor)), int64 LE ndim (read as int32 + 4
            skipped bytes), ndim x int64 sizes, ndim x int64 strides,
            int64 storage offset (elements)
  storages  pickle(n), then per storage: pickle((key, location, storage type
            global e.g. torch.FloatStorage)), int64 LE numel (elements), the raw
            little-endian elements; then pickle([(view_key, root_key, offset,
            numel), ...]) for storages that are slices of another storage

Keys are ints (0.3 used id(obj)); here they are small counters so the output is
deterministic. Tar headers have mtime 0, uid/gid 0 and mode 0o644.

Usage: make_tar.py OUTDIR   writes the examples and checks torch.load reads
them back equal.
"""

import collections
import io
import os
import pickle
import struct
import sys
import tarfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import roundtrip_check  # noqa: E402  (sibling script)

PROTOCOL = 2


class StorageView:
    """A slice of another storage, saved through the `storages` member's view list."""

    def __init__(self, root, offset, numel):
        self.root, self.offset, self.numel = root, offset, numel


class TensorOnView:
    """A tensor whose storage is a StorageView (0.3 could save such tensors)."""

    def __init__(self, view, offset, size, stride, like):
        self.view, self.offset, self.size, self.stride, self.like = view, offset, size, stride, like


def save_tar(obj, path):
    """Writes obj as a <=0.3 tar checkpoint; returns the globals written outside `pickle`."""
    tensor_keys = {}  # id(tensor) -> key
    tensors = []  # (key, tensor or TensorOnView)
    storage_keys = {}  # storage _cdata or id(StorageView) -> key
    storages = []  # (key, TypedStorage)
    views = []  # (key, StorageView)
    counter = [0]

    def next_key():
        counter[0] += 1
        return counter[0]

    def storage_key(st):
        cd = st._storage._cdata
        if cd not in storage_keys:
            storage_keys[cd] = next_key()
            storages.append((storage_keys[cd], st))
        return storage_keys[cd]

    def view_key(v):
        if id(v) not in storage_keys:
            storage_key(v.root)
            storage_keys[id(v)] = next_key()
            views.append((storage_keys[id(v)], v))
        return storage_keys[id(v)]

    def persistent_id(o):
        if isinstance(o, (torch.Tensor, TensorOnView)):
            if id(o) not in tensor_keys:
                tensor_keys[id(o)] = next_key()
                tensors.append((tensor_keys[id(o)], o))
            return str(tensor_keys[id(o)])
        return None

    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=PROTOCOL)
    p.persistent_id = persistent_id
    p.dump(obj)
    pickle_member = buf.getvalue()

    globals_written = []

    def note(cls):
        name = f"{cls.__module__}.{cls.__name__}"
        if name not in globals_written:
            globals_written.append(name)

    tb = io.BytesIO()
    pickle.dump(len(tensors), tb, protocol=PROTOCOL)
    for key, t in tensors:
        if isinstance(t, TensorOnView):
            sk = view_key(t.view)
            ttype, size, stride, offset = t.like.type(), t.size, t.stride, t.offset
        else:
            sk = storage_key(t.storage())
            ttype, size, stride, offset = t.type(), list(t.shape), list(t.stride()), t.storage_offset()
        tcls = eval(ttype, {"torch": torch})  # e.g. torch.FloatTensor, a known class name
        note(tcls)
        pickle.dump((key, sk, tcls), tb, protocol=PROTOCOL)
        tb.write(struct.pack("<q", len(size)))
        tb.write(struct.pack(f"<{len(size)}q", *size))
        tb.write(struct.pack(f"<{len(stride)}q", *stride))
        tb.write(struct.pack("<q", offset))

    sb = io.BytesIO()
    pickle.dump(len(storages), sb, protocol=PROTOCOL)
    for key, st in storages:
        scls = getattr(torch, st.pickle_storage_type())
        note(scls)
        pickle.dump((key, "cpu", scls), sb, protocol=PROTOCOL)
        data = bytes(st._storage.cpu().tolist()) if st.size() else b""
        sb.write(struct.pack("<q", st.size()))
        sb.write(data)
    pickle.dump([(key, storage_keys[v.root._storage._cdata], v.offset, v.numel) for key, v in views],
                sb, protocol=PROTOCOL)

    sys_info = dict(protocol_version=1000, little_endian=True,
                    type_sizes=dict(short=2, int=4, long=4))
    members = [
        ("sys_info", pickle.dumps(sys_info, protocol=PROTOCOL)),
        ("pickle", pickle_member),
        ("tensors", tb.getvalue()),
        ("storages", sb.getvalue()),
    ]
    with open(path, "wb") as f:
        with tarfile.open(fileobj=f, mode="w:", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = 0
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return globals_written


def examples():
    """(file name, object, description) for the committed tar fixtures."""
    torch.manual_seed(0)
    w = torch.randn(3, 4)
    sd = collections.OrderedDict([
        ("fc.weight", w),
        ("fc.bias", torch.randn(3)),
        ("fc.weight_t", w.t()),  # transposed view of the same storage
        ("fc.weight_row1", w[1]),  # storage offset 4
        ("steps", torch.tensor([7, 8], dtype=torch.int64)),
    ])
    yield "state_dict.tar", sd, "<=0.3 tar: state_dict with a transposed view and an offset view"

    torch.manual_seed(1)
    emb = torch.randn(5, 2)
    tied = {
        "encoder": emb,
        "decoder": emb,  # the same tensor twice: one persistent id
        "half": torch.randn(4).to(torch.float16),
        "mask": torch.tensor([True, False, True]),
        "nested": [emb[2:], {"n": 3, "name": "tied"}],
    }
    yield "tied.tar", tied, "<=0.3 tar: tied tensors (same object twice), a view, float16/bool, values"


def storage_view_example():
    """A tensor on a storage view (the `storages` member's view list)."""
    torch.manual_seed(2)
    root = torch.randn(8, dtype=torch.float64)
    v = StorageView(root.storage(), 2, 4)
    return {"root": root, "window": TensorOnView(v, 1, [2], [2], root)}


def check_storage_view(path):
    """torch.load reads storage_view_example() back: window aliases root[2:6], offset 1, stride 2."""
    root = storage_view_example()["root"]
    got = torch.load(path, map_location="cpu")
    assert_same(root, got["root"])
    w = got["window"]
    assert w.dtype == torch.float64 and w.shape == (2,) and w.stride() == (2,)
    assert w.storage_offset() == 1 and w.storage().size() == 4
    assert torch.equal(w, root[[3, 5]])
    # The view storage aliases the root's memory two elements in.
    assert w.storage().data_ptr() == got["root"].storage().data_ptr() + 2 * 8


def assert_same(orig, loaded):
    diff = roundtrip_check.compare(orig, loaded)
    if diff:
        raise AssertionError(f"torch.load read back something else: {diff}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, obj, _ in examples():
        path = os.path.join(out, name)
        save_tar(obj, path)
        assert_same(obj, torch.load(path, map_location="cpu"))
        print("ok", path)
    path = os.path.join(out, "storage_view.tar")
    save_tar(storage_view_example(), path)
    check_storage_view(path)
    print("ok", path)


if __name__ == "__main__":
    main()
