#!/usr/bin/python3
"""Write pth's PyTorch fixtures with real PyTorch and record what PyTorch sees in them.

Run with Debian's python3-torch (1.13) + torchvision + numpy:

    /usr/bin/python3 testdata/gen/gen_fixtures.py [--out testdata/fixtures] [--large]

or with PyTorch 2.x (Debian trixie's 2.6, numpy 2.2; testdata/gen/torch2_chroot.sh
builds that root and runs this), which writes a set of its own to
testdata/fixtures/torch2/ (manifest.json with torch_version "2.6..."): the same
fixtures, minus the plain pickles, the tar files (make_tar.py is written against
1.13's storages) and load_state_dict.json, plus what only 2.x writes: dtypes2
(uint16/32/64, float8, complex32 via _rebuild_tensor_v3; zip only: 2.6 cannot
read them back from a legacy file), param_state (_rebuild_parameter_with_state)
and conj_neg (_rebuild_tensor_v2's metadata argument). Its zip files carry the
records 2.6 writes (byteorder, .data/serialization_id), and byteorder_big.pt is
read with 2.6's own byte swap. Small files only: --large is refused under 2.x.

Every fixture is written by torch.save (zip and legacy form, some with pickle
protocols 2..5), by testdata/gen/make_tar.py (the <=0.3 tar form, which 1.13
can read but no longer write) or by pickle.dump. After writing, each file is
loaded back with torch.load(map_location=<recorder>) and everything in the
manifest is taken from that loaded object, so the manifest says what PyTorch
itself reads from the bytes:

  manifest.json = {"torch_version": str, "fixtures": [fixture, ...]}
  fixture = {"file", "format", "pickle_protocol", "description", "tensors",
             "values", "shared", "weights_only_ok", "unsafe_globals", "large"}
  tensor  = {"path", "dtype", "shape", "stride", "storage_offset", "sha256",
             "requires_grad", "is_parameter", "location", "storage_group",
             "numel", "nbytes"}
             + "quant" {qscheme, scale, zero_point | scales, zero_points, axis}
               for quantized tensors
             + "layout": "sparse_coo" with "indices"/"values", or "sparse_csr"
               with "crow_indices"/"col_indices"/"values": full tensor records
               of the components, at paths "<path>#<component>"; the sparse
               tensor's own stride/storage_offset/sha256/... are null
             + "python_type" for tensor subclasses, e.g. "__main__.TaggedTensor")
  value   = {"path", "type", "repr"} (+ "dtype", "shape" for numpy values)

Beyond that schema, each fixture has "containers": one record per dict, list
and tuple in walk order, {"path", "type" (dict, collections.OrderedDict,
collections.Counter, list, tuple, ...), "len"}, dicts with "keys" in order
(non-str keys as {"type", "repr"}) and an OrderedDict's `_metadata` as
"metadata" ({prefix: {"version": N}}, as state_dict() sets it); and, for a
whole pickled nn.Module, "module_state_dict": its tensors with state_dict keys
as paths.

`path` joins dict keys and list/tuple indices with "/"; a tensor saved at the
root has path "". Objects (an argparse.Namespace, a whole nn.Module saved with
torch.save(model)) are leaves, listed in "values". `sha256` is over the
tensor's contiguous little-endian bytes (int_repr bytes for quantized tensors;
raw bytes for bfloat16/complex/bool, never through a float conversion); it is
null for meta tensors, which have no data. `storage_group` numbers the distinct storages in first-seen order;
`shared` lists the paths of every storage used by more than one tensor.
`weights_only_ok` is whether torch.load(f, weights_only=True) succeeds in this
torch; `unsafe_globals` are the globals (module.name as written in the pickle)
that are not on this torch's weights-only allow-list
(torch._weights_only_unpickler._get_allowed_globals), after the Python 2 name
mapping (__builtin__ -> builtins) that 2.x applies first and 1.13 does not.
Under 2.x a tensor also gets "python_attrs" ({name: repr} of its __dict__, e.g.
a Parameter's attributes) and "conj"/"neg" when a bit is set; its sha256 is of
the resolved values.

Output is deterministic (seeded) except the legacy format's storage keys,
which PyTorch takes from memory addresses (str(storage._cdata)): an existing
fixture is therefore kept when torch.load reads the same object from it as
from the new file (see keep_existing).
"""

import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import sys
import tarfile
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch._weights_only_unpickler as wou

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import make_tar  # noqa: E402  (sibling script)

# PyTorch 2.x: torch.load defaults to weights_only=True (2.6), storages are
# UntypedStorage, the weights-only unpickler maps Python 2 names first, and
# torch.save writes .format_version / byteorder / .data/serialization_id.
TORCH2 = int(torch.__version__.split(".")[0]) >= 2
SHORT_VERSION = ".".join(torch.__version__.split(".")[:2])
DEFAULT_OUT = os.path.join(REPO, "testdata", "fixtures", *(["torch2"] if TORCH2 else []))


# --------------------------------------------------------------------------
# Models used by several fixtures


class SimpleNet(nn.Module):
    """The seed's model: fc1 -> relu -> fc2."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class TaggedTensor(torch.Tensor):
    """A tensor subclass: torch.save reduces it with torch._tensor._rebuild_from_type_v2."""


class ConvNet(nn.Module):
    """A small model with a BatchNorm (state_dict _metadata version 2)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.mean(dim=(2, 3)))


# --------------------------------------------------------------------------
# Recording what PyTorch sees


def dtype_name(dt):
    return str(dt).replace("torch.", "")


def tensor_bytes(t):
    """The tensor's contiguous little-endian bytes, never via a float conversion."""
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    if TORCH2:
        # the values PyTorch gives back: a conjugate/negative view's bits applied
        t = t.resolve_conj().resolve_neg()
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    elif TORCH2 and t.dtype in torch.storage._new_dtypes():
        # uint16/32/64, float8, complex32, bits: no numpy dtype; their raw bytes
        t = t.reshape(-1).view(torch.uint8)
    assert sys.byteorder == "little"
    return t.numpy().tobytes()


def storage_cdata(t):
    if TORCH2:
        return t.untyped_storage()._cdata
    return t.storage()._storage._cdata


class Recorder:
    """Walks a loaded object and collects the manifest's tensors and values."""

    def __init__(self, locations):
        self.locations = locations  # storage _cdata -> saved location tag
        self.groups = {}  # storage _cdata -> group number
        self.group_paths = collections.defaultdict(list)
        self.tensors = []
        self.values = []
        self.containers = []
        self.module_tensors = []

    def walk(self, obj, path):
        if isinstance(obj, nn.Module):
            # A whole pickled module is a leaf (an object, not a dict); its
            # tensors go to "module_state_dict" under their state_dict keys.
            self.values.append(value_record(obj, path))
            for k, v in obj.state_dict(keep_vars=True).items():
                self.module_tensors.append(self.tensor(v, join(path, k)))
        elif isinstance(obj, torch.Tensor):
            self.tensors.append(self.tensor(obj, path))
        elif isinstance(obj, dict):  # dict, OrderedDict, Counter, defaultdict
            rec = {"path": path, "type": type_name(obj), "len": len(obj),
                   "keys": [key_record(k) for k in obj]}
            if getattr(obj, "_metadata", None) is not None:
                rec["metadata"] = {k: dict(v) for k, v in obj._metadata.items()}
            self.containers.append(rec)
            for k, v in obj.items():
                self.walk(v, join(path, k))
        elif isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
            self.containers.append({"path": path, "type": type_name(obj), "len": len(obj)})
            for i, v in enumerate(obj):
                self.walk(v, join(path, i))
        else:
            self.values.append(value_record(obj, path))

    def group(self, t, path):
        cd = storage_cdata(t)
        g = self.groups.setdefault(cd, len(self.groups))
        self.group_paths[g].append(path)
        return g, self.locations.get(cd, "?")

    def tensor(self, t, path):
        rec = {
            "path": path,
            "dtype": dtype_name(t.dtype),
            "shape": list(t.shape),
            "requires_grad": t.requires_grad,
            "is_parameter": isinstance(t, nn.Parameter),
            "numel": t.numel(),
        }
        if type(t) not in (torch.Tensor, nn.Parameter):
            rec["python_type"] = f"{type(t).__module__}.{type(t).__qualname__}"
        if TORCH2 and getattr(t, "__dict__", None):
            rec["python_attrs"] = {k: repr(v) for k, v in vars(t).items()}
        if TORCH2 and (t.is_conj() or t.is_neg()):
            rec["conj"], rec["neg"] = t.is_conj(), t.is_neg()
        if t.layout == torch.sparse_csr:
            rec.update(
                layout="sparse_csr",
                stride=None,
                storage_offset=None,
                sha256=None,
                location=None,
                storage_group=None,
                nbytes=None,
                crow_indices=self.tensor(t.crow_indices(), path + "#crow_indices"),
                col_indices=self.tensor(t.col_indices(), path + "#col_indices"),
                values=self.tensor(t.values(), path + "#values"),
            )
            return rec
        if t.is_sparse:
            rec.update(
                layout="sparse_coo",
                stride=None,
                storage_offset=None,
                sha256=None,
                location=None,
                storage_group=None,
                nbytes=None,
                indices=self.tensor(t._indices(), path + "#indices"),
                values=self.tensor(t._values(), path + "#values"),
            )
            return rec
        rec["stride"] = list(t.stride())
        rec["storage_offset"] = t.storage_offset()
        if t.is_meta:
            rec.update(sha256=None, location="meta", storage_group=None,
                       nbytes=t.numel() * t.element_size())
            return rec
        b = tensor_bytes(t)
        rec["sha256"] = hashlib.sha256(b).hexdigest()
        rec["nbytes"] = len(b)
        rec["storage_group"], rec["location"] = self.group(t, path)
        if t.is_quantized:
            q = {"qscheme": str(t.qscheme()).replace("torch.", "")}
            if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                q.update(scale=t.q_scale(), zero_point=t.q_zero_point())
            else:
                q.update(scales=t.q_per_channel_scales().tolist(),
                         zero_points=t.q_per_channel_zero_points().tolist(),
                         axis=t.q_per_channel_axis())
            rec["quant"] = q
        return rec

    def shared(self):
        return [paths for _, paths in sorted(self.group_paths.items()) if len(paths) > 1]


def join(path, key):
    key = str(key)
    return key if path == "" else path + "/" + key


def key_record(k):
    """A dict key as JSON: strings as they are, anything else as {"type", "repr"}."""
    return k if type(k) is str else {"type": type_name(k), "repr": repr(k)}


def type_name(v):
    t = type(v)
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def value_record(v, path):
    rec = {"path": path, "type": type_name(v), "repr": repr(v)}
    if isinstance(v, (np.ndarray, np.generic)):
        rec["type"] = "numpy." + type(v).__name__
        rec["dtype"] = str(v.dtype)
        rec["shape"] = list(v.shape)
    return rec


def load_recorded(path):
    """torch.load on CPU, remembering each storage's saved location tag."""
    locations = {}

    def recorder(storage, location):
        locations[storage._cdata] = location
        return storage

    obj = torch.load(path, map_location=recorder, weights_only=False)
    return obj, locations


# --------------------------------------------------------------------------
# Globals and weights_only


class _Inert:
    """Stands in for every global while scanning: accepts anything, runs nothing."""

    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, k, v):
        pass

    def append(self, v):
        pass

    def extend(self, v):
        pass


class _GlobalScanner(pickle.Unpickler):
    def __init__(self, f, seen):
        super().__init__(f)
        self.seen = seen

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full not in self.seen:
            self.seen.append(full)
        return _Inert

    def persistent_load(self, pid):
        # A class, so that a legacy ('module', cls, ...) id can feed NEWOBJ.
        return _Inert


def scan_globals_stream(f, count, seen):
    for _ in range(count):
        _GlobalScanner(f, seen).load()


def pickles_of(path, fmt):
    """Yields (file object, number of pickles) for every pickle stream in the file."""
    if fmt == "torch-zip":
        with zipfile.ZipFile(path) as z:
            name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            yield io.BytesIO(z.read(name)), 1
    elif fmt == "torch-legacy":
        with open(path, "rb") as f:
            # magic, protocol, sys_info, the object, the storage keys
            yield f, 5
    elif fmt == "torch-tar":
        with tarfile.open(path, format=tarfile.PAX_FORMAT) as tar:
            # `storages` and `tensors` interleave raw bytes; their pickles
            # only hold storage type globals, which make_tar records itself.
            yield io.BytesIO(tar.extractfile("pickle").read()), 1
    else:
        with open(path, "rb") as f:
            yield f, 1


def canonical_global(g):
    """The name torch's weights-only unpickler checks: 2.x maps Python 2 names first."""
    if not TORCH2:
        return g  # 1.13 checks the name as written (__builtin__.set is refused)
    from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
    module, _, name = g.rpartition(".")
    if (module, name) in NAME_MAPPING:
        module, name = NAME_MAPPING[(module, name)]
    elif module in IMPORT_MAPPING:
        module = IMPORT_MAPPING[module]
    return f"{module}.{name}"


def unsafe_globals(path, fmt, extra=()):
    seen = list(extra)
    for f, n in pickles_of(path, fmt):
        scan_globals_stream(f, n, seen)
    allowed = wou._get_allowed_globals()
    return [g for g in seen if canonical_global(g) not in allowed]


def weights_only_ok(path):
    try:
        torch.load(path, map_location="cpu", weights_only=True)
        return True
    except Exception:
        return False


# --------------------------------------------------------------------------
# Writing


def temp_path(path):
    """A scratch path with the same base name (torch.save names the zip's folder after it)."""
    d = os.path.join(os.path.dirname(path), ".new")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, os.path.basename(path))


def keep_existing(new, path):
    """Moves new to path unless path already holds the same object.

    The legacy format's storage keys are memory addresses, so each run writes
    different bytes for the same object; keeping the committed file when
    torch.load reads the same thing from both keeps the fixtures stable.
    """
    import roundtrip_check
    if os.path.exists(path):
        try:
            same = roundtrip_check.check_files(path, new) is None
            same = same and (sorted(load_recorded(path)[1].values())
                             == sorted(load_recorded(new)[1].values()))
        except Exception:
            same = False
        if same and open(path, "rb").read(4) == open(new, "rb").read(4):
            os.remove(new)
        else:
            os.replace(new, path)
    else:
        os.replace(new, path)
    try:
        os.rmdir(os.path.dirname(new))
    except OSError:
        pass


class Gen:
    def __init__(self, out, large):
        self.out = out
        self.large = large
        self.fixtures = []

    def rel(self, path):
        return os.path.relpath(path, REPO)

    def record(self, path, fmt, proto, description, extra_globals=(), fix=None):
        if fmt == "pickle":
            with open(path, "rb") as f:
                obj = pickle.load(f)
            locations = {}
        else:
            obj, locations = load_recorded(path)
        if fix:
            fix(obj)
        rec = Recorder(locations)
        rec.walk(obj, "")
        self.fixtures.append({
            "file": self.rel(path),
            "format": fmt,
            "pickle_protocol": proto,
            "description": description,
            "tensors": rec.tensors,
            "values": rec.values,
            "shared": rec.shared(),
            "weights_only_ok": weights_only_ok(path),
            "unsafe_globals": unsafe_globals(path, fmt, extra_globals),
            "large": self.large,
            "containers": rec.containers,
        })
        if rec.module_tensors:
            self.fixtures[-1]["module_state_dict"] = rec.module_tensors
        return obj

    def save(self, sub, name, obj, description, proto=2, legacy=False):
        d = os.path.join(self.out, sub)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        tmp = temp_path(path)
        torch.save(obj, tmp, pickle_protocol=proto,
                   _use_new_zipfile_serialization=not legacy)
        keep_existing(tmp, path)
        self.record(path, "torch-legacy" if legacy else "torch-zip", proto, description)
        return path

    def both(self, name, make, description):
        """Saves make() as zip/<name>.pt and legacy/<name>.pt (re-seeded each time)."""
        for sub, legacy in (("zip", False), ("legacy", True)):
            obj = make()
            self.save(sub, name + ".pt", obj, description, legacy=legacy)

    def write_manifest(self):
        path = os.path.join(self.out, "manifest.json")
        with open(path, "w") as f:
            json.dump({"torch_version": torch.__version__, "fixtures": self.fixtures},
                      f, indent=1, allow_nan=False)
            f.write("\n")


def seeded(fn):
    def wrapper():
        torch.manual_seed(0)
        np.random.seed(0)
        return fn()
    return wrapper


# --------------------------------------------------------------------------
# The fixtures


@seeded
def make_dtypes():
    base = torch.randn(2, 3)
    return collections.OrderedDict([
        ("float32", base.clone()),
        ("float64", torch.randn(2, 3, dtype=torch.float64)),
        ("float16", (base * 100).to(torch.float16)),
        ("bfloat16", (base * 100).to(torch.bfloat16)),
        ("complex64", torch.randn(2, 3, dtype=torch.complex64)),
        ("complex128", torch.randn(2, 3, dtype=torch.complex128)),
        ("int8", torch.randint(-128, 128, (2, 3), dtype=torch.int8)),
        ("int16", torch.randint(-2**15, 2**15, (2, 3), dtype=torch.int16)),
        ("int32", torch.randint(-2**31, 2**31, (2, 3), dtype=torch.int32)),
        ("int64", torch.randint(-2**62, 2**62, (2, 3), dtype=torch.int64)),
        ("uint8", torch.randint(0, 256, (2, 3), dtype=torch.uint8)),
        ("bool", torch.tensor([[True, False, True], [False, False, True]])),
    ])


@seeded
def make_quantized():
    x = torch.randn(2, 4)
    scales = torch.tensor([0.05, 0.1], dtype=torch.float64)
    zps = torch.tensor([1, -2])
    return collections.OrderedDict([
        ("qint8", torch.quantize_per_tensor(x, 0.05, 3, torch.qint8)),
        ("quint8", torch.quantize_per_tensor(x, 0.05, 128, torch.quint8)),
        ("qint32", torch.quantize_per_tensor(x, 0.001, -7, torch.qint32)),
        ("quint4x2", torch.quantize_per_tensor(x.abs(), 0.25, 1, torch.quint4x2)),
        ("quint2x4", torch.quantize_per_tensor(x.abs(), 0.5, 1, torch.quint2x4)),
        ("qint8_per_channel", torch.quantize_per_channel(x, scales, zps, 0, torch.qint8)),
        ("quint8_per_channel",
         torch.quantize_per_channel(x, scales, torch.tensor([100, 130]), 0, torch.quint8)),
        ("qint32_per_channel",
         torch.quantize_per_channel(x, torch.tensor([0.01, 0.02, 0.03, 0.04], dtype=torch.float64),
                                    torch.tensor([0, 1, 2, 3]), 1, torch.qint32)),
    ])


@seeded
def make_scalars_empty():
    i64 = torch.iinfo(torch.int64)
    i32 = torch.iinfo(torch.int32)
    return {
        "scalar_f32": torch.tensor(3.5),
        "scalar_f64": torch.tensor(-2.25, dtype=torch.float64),
        "scalar_i64": torch.tensor(i64.max),
        "scalar_bool": torch.tensor(True),
        "scalar_bf16": torch.tensor(1.5, dtype=torch.bfloat16),
        "empty_1d": torch.empty(0),
        "empty_3d": torch.empty(2, 0, 3, dtype=torch.int32),
        "int64_extremes": torch.tensor([i64.min, i64.max, 0, -1, 1], dtype=torch.int64),
        "int32_extremes": torch.tensor([i32.min, i32.max, 0, -1], dtype=torch.int32),
        "float_specials": torch.tensor([float("inf"), float("-inf"), float("nan"), -0.0, 1e-45,
                                        3.4028234663852886e38]),
        "float16_specials": torch.tensor([65504.0, -65504.0, 6e-8, float("inf"), float("nan")],
                                         dtype=torch.float16),
    }


@seeded
def make_views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    col = torch.arange(3, dtype=torch.int64).reshape(3, 1)
    img = torch.randn(2, 3, 4, 5)
    return collections.OrderedDict([
        ("base", base),
        ("rows_1_3", base[1:3]),  # storage offset 6
        ("transposed", base.t()),  # strides (1, 6)
        ("every_other_col", base[:, ::2]),  # strides (6, 2)
        ("narrow_offset", base[2, 1:5]),  # offset 13, 1-D
        ("expanded", col.expand(3, 4)),  # stride 0
        ("channels_last", img.contiguous(memory_format=torch.channels_last)),
        ("unrelated", torch.randn(5)),
    ])


@seeded
def make_tied():
    w = torch.randn(4, 3)
    emb = nn.Parameter(torch.randn(6, 3))
    return collections.OrderedDict([
        ("encoder.weight", emb),
        ("decoder.weight", emb),  # the same Parameter twice (tied weights)
        ("a", w),
        ("b", w),  # the same tensor object twice
        ("a_flat", w.view(12)),  # another view of a's storage
        ("a_row", w[1]),
    ])


@seeded
def make_simplenet():
    return SimpleNet(10, 5, 2).state_dict()


@seeded
def make_convnet():
    m = ConvNet()
    m.train()
    m(torch.randn(2, 3, 5, 5))  # move the BatchNorm running stats
    return m.state_dict()


@seeded
def make_checkpoint():
    model = SimpleNet(10, 5, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(8, 10), torch.randn(8, 2)
    loss = None
    for _ in range(2):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return {
        "epoch": 2,
        "loss": loss.item(),
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "np_loss": np.float64(0.125),
        "np_counts": np.array([3, 1, 4, 1, 5], dtype=np.int64),
        "np_matrix": np.arange(6, dtype=np.float32).reshape(2, 3),
        "args": argparse.Namespace(lr=0.001, batch_size=8, model="simplenet"),
    }


@seeded
def make_dataparallel():
    return nn.DataParallel(SimpleNet(10, 5, 2)).state_dict()


@seeded
def make_parameters():
    return {
        "weight": nn.Parameter(torch.randn(3, 2)),
        "frozen": nn.Parameter(torch.randn(2), requires_grad=False),
        "leaf_requires_grad": torch.randn(2, 2).requires_grad_(),
        "plain": torch.randn(2),
    }


@seeded
def make_parameter_root():
    return nn.Parameter(torch.randn(2, 3))


@seeded
def make_tensor_root():
    return torch.arange(10, dtype=torch.int16)


@seeded
def make_nested():
    t = torch.randn(3)
    return {
        "list": [1, 2.5, "x", None, True, t, [torch.ones(2, dtype=torch.int8), []]],
        "tuple": (t, (1, 2), ()),
        "dict": {"inner": {"t": torch.zeros(2, 2), "n": -7}, "empty": {}},
        "int_keys": {0: "zero", 1: torch.tensor([1, 2])},
        "set": {1, 2, 3},
        "frozenset": frozenset({4, 5}),
        "bytes": b"\x00abc\xff",
        "bytearray": bytearray(b"xy"),
        "complex": complex(1.5, -2.0),
        "big_int": 2**70,
        "neg_big_int": -(2**64),
        "float": 0.1,
        "unicode": "héllo ✓",
        "size": torch.Size([2, 3]),
        "device": torch.device("cpu"),
        "dtype": torch.float16,
        "counter": collections.Counter({"a": 2}),
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
    }


@seeded
def make_sparse():
    dense = torch.zeros(3, 4)
    dense[0, 1], dense[2, 3], dense[1, 0] = 1.5, -2.0, 3.0
    return {"coo": dense.to_sparse(), "dense": dense}


@seeded
def make_meta():
    return {"meta": torch.empty(3, 4, device="meta"), "cpu": torch.ones(2)}


@seeded
def make_mixed():
    """A bit of everything, for the pickle protocol variants."""
    return {
        "state": make_simplenet(),
        "views": [torch.arange(6.0)[1:4], torch.arange(6.0).reshape(2, 3).t()],
        "meta": {"epoch": 3, "name": "mixed", "lr": 0.5, "flags": (True, None)},
        "bf16": torch.randn(2, 2).to(torch.bfloat16),
    }


@seeded
def make_edge_keys():
    """Non-ASCII and long keys, an empty dict and an empty OrderedDict as values."""
    return collections.OrderedDict([
        ("ключ.weight", torch.randn(2)),
        ("层.bias", torch.randn(1)),
        ("k" * 300, torch.tensor([1], dtype=torch.int8)),
        ("empty_dict", {}),
        ("empty_state_dict", collections.OrderedDict()),
    ])


def make_empty():
    return {}


@seeded
def make_model():
    """A whole module pickled by reference (classes __main__.SimpleNet, torch.nn...)."""
    return SimpleNet(10, 5, 2)


@seeded
def make_subclass():
    t = torch.randn(2, 3).as_subclass(TaggedTensor)
    t.tag = "hello"
    return {"tagged": t, "plain": torch.randn(2)}


@seeded
def make_sparse_csr():
    dense = torch.zeros(3, 4)
    dense[0, 1], dense[2, 3], dense[2, 0] = 1.5, -2.0, 3.0
    return {"csr": dense.to_sparse_csr(), "dense": dense}


@seeded
def make_dtypes2():
    """The dtypes torch 2.x added: saved with _rebuild_tensor_v3 over UntypedStorage."""
    base = torch.randn(2, 3) * 4
    return collections.OrderedDict([
        ("uint16", torch.tensor([[0, 1, 2**16 - 1], [300, 4096, 65000]], dtype=torch.uint16)),
        ("uint32", torch.tensor([[0, 1, 2**32 - 1], [300, 2**31, 7]], dtype=torch.uint32)),
        ("uint64", torch.tensor([[0, 1, 2**63 - 1], [300, 2**40, 7]], dtype=torch.uint64)),
        ("float8_e4m3fn", base.to(torch.float8_e4m3fn)),
        ("float8_e5m2", base.to(torch.float8_e5m2)),
        ("float8_e4m3fnuz", base.to(torch.float8_e4m3fnuz)),
        ("float8_e5m2fnuz", base.to(torch.float8_e5m2fnuz)),
        ("complex32", torch.randn(2, 3, dtype=torch.complex64).to(torch.complex32)),
        ("uint16_t", torch.arange(6, dtype=torch.int32).reshape(2, 3).to(torch.uint16).t()),
    ])


@seeded
def make_param_state():
    """A Parameter with a Python attribute: torch 2.x saves it with _rebuild_parameter_with_state."""
    p = nn.Parameter(torch.randn(2, 3))
    p.tag = "tagged"
    p.scale = 0.5
    return {"tagged": p, "plain": nn.Parameter(torch.randn(2), requires_grad=False)}


@seeded
def make_conj_neg():
    """Views with the conjugate / negative bit: _rebuild_tensor_v2's 7th (metadata) argument."""
    c = torch.randn(3, dtype=torch.complex64)
    return {"conj": c.conj(), "neg": torch._neg_view(torch.randn(3)), "plain": c}


def _swap_unit(dtype):
    """The byte-swap unit for a dtype: the element size, or half of it for complex."""
    size = torch._utils._element_size(dtype)
    return size // 2 if dtype.is_complex else size


def _swap(data, unit):
    if unit == 1 or not data:
        return data
    a = np.frombuffer(data, dtype=np.uint8).reshape(-1, unit)
    return a[:, ::-1].tobytes()


def save_with_byteorder(obj, path, byteorder):
    """torch.save's zip layout as torch >= 2.1 writes it: a `byteorder` record after data.pkl.

    This is torch 1.13's _save with that one record added and, for "big", every
    storage byte-swapped the way torch >= 2.1 writes on a big-endian machine
    (and undoes with storage.byteswap(dtype) when loading on a little-endian one).
    """
    storages = collections.OrderedDict()  # key -> (untyped storage, dtype)
    ids = {}

    def persistent_id(o):
        if isinstance(o, torch.storage.TypedStorage):
            st, dtype = (o._untyped_storage if TORCH2 else o._storage), o.dtype
            key = ids.setdefault(st._cdata, str(len(ids)))
            storages[key] = (st, dtype)
            return ("storage", getattr(torch, o.pickle_storage_type()), key, "cpu", o.size())
        return None

    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    p.persistent_id = persistent_id
    p.dump(obj)
    w = torch._C.PyTorchFileWriter(path)
    data = buf.getvalue()
    w.write_record("data.pkl", data, len(data))
    w.write_record("byteorder", byteorder.encode(), len(byteorder))
    for key in sorted(storages):
        st, dtype = storages[key]
        raw = bytes(st.tolist()) if st.nbytes() else b""
        if byteorder == "big":
            raw = _swap(raw, _swap_unit(dtype))
        w.write_record(f"data/{key}", raw, len(raw))
    w.write_end_of_file()
    return storages


def unswap_loaded(obj):
    """Byte-swaps, in place, every storage reachable from obj (what torch >= 2.1 does for "big")."""
    done = set()

    def fix(t):
        if t.is_meta or t.is_sparse:
            return
        st = t.storage()
        if st._storage._cdata in done or st.nbytes() == 0:
            return
        done.add(st._storage._cdata)
        u8 = torch.tensor([], dtype=torch.uint8).set_(st._storage).numpy()
        unit = _swap_unit(t.dtype)
        u8[:] = np.frombuffer(_swap(u8.tobytes(), unit), dtype=np.uint8)

    def walk(o):
        if isinstance(o, torch.Tensor):
            fix(o)
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)

    walk(obj)
    return obj


@seeded
def make_byteorder():
    w = torch.randn(2, 3)
    return collections.OrderedDict([
        ("f32", w),
        ("f32_t", w.t()),
        ("f64", torch.randn(3, dtype=torch.float64)),
        ("f16", torch.randn(3).to(torch.float16)),
        ("bf16", torch.randn(3).to(torch.bfloat16)),
        ("c64", torch.randn(2, dtype=torch.complex64)),
        ("i16", torch.tensor([1, -2, 0x1234], dtype=torch.int16)),
        ("i32", torch.tensor([1, -2, 0x12345678], dtype=torch.int32)),
        ("i64", torch.tensor([1, -2, 0x123456789ABCDEF], dtype=torch.int64)),
        ("u8", torch.tensor([1, 2, 255], dtype=torch.uint8)),
        ("b", torch.tensor([True, False])),
    ])


def write_byteorder(gen):
    import roundtrip_check
    d = os.path.join(gen.out, "zip")
    os.makedirs(d, exist_ok=True)
    for order in ("little", "big"):
        path = os.path.join(d, f"byteorder_{order}.pt")
        orig = make_byteorder()
        save_with_byteorder(orig, path, order)
        # torch 1.13 ignores the record; undo the swap to see what >= 2.1 sees.
        loaded = torch.load(path, map_location="cpu", weights_only=False)
        if order == "big" and not TORCH2:
            unswap_loaded(loaded)
        diff = roundtrip_check.compare(orig, loaded)
        if diff:
            raise AssertionError(f"{path}: {diff}")
        if TORCH2:
            gen.record(path, "torch-zip", 2,
                       f"hand-assembled zip with a `byteorder` record = {order!r}"
                       + (" and byte-swapped storages, as torch writes on a big-endian machine; "
                          "torch 2.x swaps them back when loading" if order == "big" else ""))
            continue
        gen.record(path, "torch-zip", 2,
                   f"hand-assembled torch>=2.1 layout with a `byteorder` record = {order!r}"
                   + (" and byte-swapped storages (torch 1.13 cannot write big-endian; it "
                      "ignores the record and reads swapped values: the manifest gives the "
                      "values after the swap that torch>=2.1 does)" if order == "big" else
                      " (torch 1.13 reads it as is)"),
                   fix=unswap_loaded if order == "big" else None)


def save_tagged(gen, legacy, name, items, description):
    """Saves (key, tensor, location tag) items as a state_dict whose storages carry those tags.

    torch.serialization.location_tag is patched while saving, so the file says
    e.g. 'cuda:0' while the bytes are the CPU copy, exactly as PyTorch writes a
    CUDA tensor's storage.
    """
    obj = collections.OrderedDict((k, t) for k, t, _ in items)
    tags = {storage_cdata(t): tag for _, t, tag in items}
    orig = torch.serialization.location_tag

    def fake_tag(storage):
        s = storage._storage if isinstance(storage, torch.storage.TypedStorage) else storage
        return tags.get(s._cdata, "cpu")

    torch.serialization.location_tag = fake_tag
    try:
        sub = "legacy" if legacy else "zip"
        d = os.path.join(gen.out, sub)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        tmp = temp_path(path)
        torch.save(obj, tmp, _use_new_zipfile_serialization=not legacy)
    finally:
        torch.serialization.location_tag = orig
    keep_existing(tmp, path)
    gen.record(path, "torch-legacy" if legacy else "torch-zip", 2, description)


def save_cuda(gen, legacy):
    """Tensors tagged cuda:0 (and cuda:1)."""
    torch.manual_seed(0)
    items = [
        ("cuda0.weight", torch.randn(3, 2), "cuda:0"),
        ("cuda0.bias", torch.randn(3), "cuda:0"),
        ("cuda1.weight", torch.randn(2, 2), "cuda:1"),
        ("cpu.weight", torch.randn(2), "cpu"),
    ]
    save_tagged(gen, legacy, "cuda.pt", items,
                "state_dict whose storages are tagged cuda:0 / cuda:1 / cpu "
                "(location_tag patched while saving; bytes are the CPU copy)")


def save_locations(gen, legacy):
    """Other devices' tags, including a view sharing a tagged storage."""
    torch.manual_seed(3)
    w = torch.randn(2, 3)
    items = [
        ("mps.weight", w, "mps"),
        ("mps.weight_t", w.t(), "mps"),
        ("xpu.weight", torch.randn(2), "xpu:0"),
        ("hpu.weight", torch.randn(2, dtype=torch.float16), "hpu:1"),
        ("cuda3.weight", torch.randn(1), "cuda:3"),
        ("privateuse.weight", torch.randn(2), "privateuseone:0"),
    ]
    save_tagged(gen, legacy, "locations.pt", items,
                "storages tagged mps, xpu:0, hpu:1, cuda:3, privateuseone:0 "
                "(location_tag patched while saving; bytes are the CPU copy)")


class DeeperNet(nn.Module):
    """SimpleNet plus an fc3 layer: loading a SimpleNet state_dict misses fc3.*."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(5, 2)
        self.fc3 = nn.Linear(2, 2)


class HalfNet(nn.Module):
    """Only SimpleNet's fc1: loading a SimpleNet state_dict finds fc2.* unexpected."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)


class WideConvNet(ConvNet):
    """ConvNet with 5 channels and an extra head: shape mismatches and missing keys."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.bn = nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, 2)
        self.head = nn.Linear(2, 2)


TARGETS = {
    "SimpleNet(10, 5, 2)": lambda: SimpleNet(10, 5, 2),
    "SimpleNet(10, 6, 2)": lambda: SimpleNet(10, 6, 2),
    "DeeperNet()": DeeperNet,
    "HalfNet()": HalfNet,
    "ConvNet()": ConvNet,
    "WideConvNet()": WideConvNet,
}


def try_load(target, sd, strict):
    torch.manual_seed(0)
    m = TARGETS[target]()
    try:
        r = m.load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        return {"ok": False, "error": str(e), "missing_keys": None, "unexpected_keys": None}, m
    return {"ok": True, "error": None, "missing_keys": list(r.missing_keys),
            "unexpected_keys": list(r.unexpected_keys)}, m


def write_load_cases(gen):
    """load_state_dict.json: what PyTorch's load_state_dict says for mismatched pairs.

    Each case loads a committed fixture (torch.load, map_location='cpu') into a
    freshly built target module, with strict=True and strict=False, and records
    the outcome: {"ok", "error" (str(RuntimeError), PyTorch's message),
    "missing_keys", "unexpected_keys"}; when the non-strict load succeeds,
    "loaded" has the target's state_dict afterwards as {key, dtype, shape,
    sha256} (dtype conversion, untouched keys keep the seeded init,
    num_batches_tracked filled in for old BatchNorm versions).
    """
    # Extra sources: a float64 SimpleNet; a ConvNet saved by an old BatchNorm
    # (version 1: no num_batches_tracked); the same keys but claiming version 2.
    sd64 = collections.OrderedDict((k, v.double()) for k, v in make_simplenet().items())
    sd64._metadata = make_simplenet()._metadata
    gen.save("zip", "simplenet_f64.pt", sd64, "SimpleNet(10,5,2) state_dict converted to float64")
    old_bn = make_convnet()
    del old_bn["bn.num_batches_tracked"]
    old_bn._metadata["bn"]["version"] = 1
    gen.save("zip", "convnet_bn_v1.pt", old_bn,
             "ConvNet state_dict as an old BatchNorm (version 1) saved it: no num_batches_tracked")
    no_nbt = make_convnet()
    del no_nbt["bn.num_batches_tracked"]
    gen.save("zip", "convnet_no_nbt.pt", no_nbt,
             "ConvNet state_dict without bn.num_batches_tracked but BatchNorm _metadata version 2")

    fx = "testdata/fixtures/zip/"
    cases = [
        ("exact", "simplenet.pt", "SimpleNet(10, 5, 2)"),
        ("shape mismatch", "simplenet.pt", "SimpleNet(10, 6, 2)"),
        ("missing keys", "simplenet.pt", "DeeperNet()"),
        ("unexpected keys", "simplenet.pt", "HalfNet()"),
        ("DataParallel prefix", "dataparallel.pt", "SimpleNet(10, 5, 2)"),
        ("float64 into float32", "simplenet_f64.pt", "SimpleNet(10, 5, 2)"),
        ("mismatch, missing and unexpected", "convnet.pt", "WideConvNet()"),
        ("BatchNorm version 1 without num_batches_tracked", "convnet_bn_v1.pt", "ConvNet()"),
        ("BatchNorm version 2 without num_batches_tracked", "convnet_no_nbt.pt", "ConvNet()"),
        ("ConvNet state_dict into SimpleNet", "convnet.pt", "SimpleNet(10, 5, 2)"),
    ]
    out = []
    for name, src, target in cases:
        path = os.path.join(gen.out, "zip", src)
        sd = torch.load(path, map_location="cpu", weights_only=False)
        torch.manual_seed(0)
        keys = [{"key": k, "dtype": dtype_name(v.dtype), "shape": list(v.shape)}
                for k, v in TARGETS[target]().state_dict().items()]
        strict, _ = try_load(target, sd, True)
        loose, m = try_load(target, sd, False)
        case = {"name": name, "source": fx + src, "target": target, "target_keys": keys,
                "strict": strict, "non_strict": loose}
        if loose["ok"]:
            case["loaded"] = [{"key": k, "dtype": dtype_name(v.dtype), "shape": list(v.shape),
                               "sha256": hashlib.sha256(tensor_bytes(v)).hexdigest()}
                              for k, v in m.state_dict().items()]
        out.append(case)
    with open(os.path.join(gen.out, "load_state_dict.json"), "w") as f:
        json.dump({"torch_version": torch.__version__,
                   "description": " ".join(write_load_cases.__doc__.split()),
                   "target_models": "defined in testdata/gen/gen_fixtures.py "
                                    "(SimpleNet, DeeperNet, HalfNet, ConvNet, WideConvNet); "
                                    "unloaded parameters keep the init after torch.manual_seed(0)",
                   "cases": out}, f, indent=1)
        f.write("\n")


def save_via_buffer(gen):
    """torch.save into an io.BytesIO names the zip's folder "archive/", not after the file."""
    buf = io.BytesIO()
    torch.save(make_simplenet(), buf)
    d = os.path.join(gen.out, "zip")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "buffer_saved.pt")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    gen.record(path, "torch-zip", 2,
               "SimpleNet state_dict saved to a BytesIO: records live under archive/, "
               "not buffer_saved/")


def write_plain_pickles(gen):
    d = os.path.join(gen.out, "pickle")
    os.makedirs(d, exist_ok=True)
    obj = {"a": 1, "b": 300, "c": -70000, "d": 2**40, "e": 0}
    for proto in range(6):
        path = os.path.join(d, f"ints_p{proto}.pkl")
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=proto)
        gen.record(path, "pickle", proto, f"plain pickle.dump of a dict of ints, protocol {proto}")


def write_tar(gen):
    d = os.path.join(gen.out, "tar")
    os.makedirs(d, exist_ok=True)
    for name, obj, desc in make_tar.examples():
        path = os.path.join(d, name)
        storage_globals = make_tar.save_tar(obj, path)
        got = torch.load(path, map_location="cpu", weights_only=False)
        make_tar.assert_same(obj, got)
        gen.record(path, "torch-tar", 2, desc, extra_globals=storage_globals)
    path = os.path.join(d, "storage_view.tar")
    storage_globals = make_tar.save_tar(make_tar.storage_view_example(), path)
    make_tar.check_storage_view(path)
    gen.record(path, "torch-tar", 2,
               "<=0.3 tar: `window` sits on a storage view (the storages member's view list: "
               "elements 2..5 of root's storage) with offset 1, stride 2, so it reads root[3], "
               "root[5]; torch 1.13 loads the view as a separate storage aliasing root's memory, "
               "hence its own storage_group",
               extra_globals=storage_globals)


def write_large(gen):
    import torchvision
    for arch in ("resnet18", "mobilenet_v3_small"):
        torch.manual_seed(0)
        sd = getattr(torchvision.models, arch)(weights=None).state_dict()
        for sub, legacy in (("zip", False), ("legacy", True)):
            gen.save(sub, arch + ".pt", sd,
                     f"torchvision {arch} state_dict (seeded init, torch.manual_seed(0))",
                     legacy=legacy)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="output folder (default: testdata/fixtures for torch 1.x, "
                         "testdata/fixtures/torch2 for torch 2.x)")
    ap.add_argument("--large", action="store_true",
                    help="also write torchvision state_dicts to OUT/large (git-ignored)")
    ap.add_argument("--large-only", action="store_true",
                    help="write only OUT/large, leaving the committed fixtures as they are (CI uses this)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if TORCH2 and (args.large or args.large_only):
        raise SystemExit("the torch 2.x set is small files only; run --large with torch 1.13")
    if args.large_only:
        lg = Gen(os.path.join(out, "large"), large=True)
        write_large(lg)
        lg.write_manifest()
        print(f"wrote {len(lg.fixtures)} large fixtures to {lg.out}")
        return

    gen = Gen(out, large=False)
    gen.both("dtypes", make_dtypes, f"one 2x3 tensor per plain dtype torch {SHORT_VERSION} saves")
    gen.both("quantized", make_quantized,
             "quantized tensors: qint8/quint8/qint32/quint4x2/quint2x4 per-tensor, "
             f"qint8/quint8/qint32 per-channel (quint4x2 per-channel is not implemented in {SHORT_VERSION})")
    gen.both("scalars_empty", make_scalars_empty,
             "0-d scalars, empty tensors, int extremes, float specials")
    gen.both("views", make_views,
             "views of one storage: offsets, transpose, step, narrow; stride-0 expand; channels_last")
    gen.both("tied", make_tied, "tied weights: the same Parameter/tensor under two keys, views")
    gen.both("simplenet", make_simplenet, "SimpleNet(10,5,2).state_dict() (OrderedDict with _metadata)")
    gen.both("convnet", make_convnet, "Conv2d+BatchNorm2d+Linear state_dict after one train step "
             "(num_batches_tracked, BatchNorm _metadata version 2)")
    gen.both("checkpoint", make_checkpoint,
             "training checkpoint: epoch, loss, SimpleNet state_dict, Adam state after 2 steps, "
             "numpy scalar and arrays, argparse.Namespace")
    gen.both("dataparallel", make_dataparallel, "DataParallel(SimpleNet) state_dict: 'module.' keys")
    gen.both("parameters", make_parameters, "Parameters (trainable and frozen) and plain tensors in a dict")
    gen.both("parameter_root", make_parameter_root, "a Parameter saved at the root")
    gen.both("tensor_root", make_tensor_root, "an int16 tensor saved at the root")
    gen.both("nested", make_nested,
             "nested lists/tuples/dicts, sets, bytes, complex, big ints, torch.Size/device/dtype, Counter")
    gen.both("sparse", make_sparse, "a sparse COO tensor (coalesced) next to its dense form")
    gen.both("meta", make_meta, "a meta tensor (no storage) next to a CPU tensor")
    gen.both("edge_keys", make_edge_keys, "non-ASCII and 300-character keys, empty containers")
    gen.both("empty", make_empty, "an empty dict at the root (no tensors, no storages)")
    gen.both("model", make_model,
             "a whole SimpleNet module, torch.save(model): classes pickled by reference "
             "(legacy form also carries the module source); the root is an object, so its tensors are "
             "listed in module_state_dict under their state_dict keys")
    gen.both("subclass", make_subclass,
             "a torch.Tensor subclass (__main__.TaggedTensor) with a Python attribute, "
             "reduced via torch._tensor._rebuild_from_type_v2")
    gen.both("sparse_csr", make_sparse_csr, "a sparse CSR tensor next to its dense form")
    if TORCH2:
        # zip only: torch 2.6 writes these dtypes in the legacy format but cannot
        # read them back (persistent_load asks UntypedStorage for a dtype).
        gen.save("zip", "dtypes2.pt", make_dtypes2(),
                 "uint16/32/64, float8 (e4m3fn, e5m2, e4m3fnuz, e5m2fnuz) and complex32 "
                 "(_rebuild_tensor_v3 over torch.UntypedStorage), a transposed uint16 view")
        gen.both("param_state", make_param_state,
                 "a Parameter with Python attributes (tag, scale): "
                 "torch._utils._rebuild_parameter_with_state")
        gen.both("conj_neg", make_conj_neg,
                 "a conjugate view and a negative view: _rebuild_tensor_v2 with its metadata "
                 "argument {'conj': True} / {'neg': True}; the sha256 is of the resolved values")
    write_byteorder(gen)
    save_cuda(gen, legacy=False)
    save_cuda(gen, legacy=True)
    save_locations(gen, legacy=False)
    save_locations(gen, legacy=True)
    save_via_buffer(gen)
    for proto in (2, 3, 4, 5):
        gen.save("proto", f"mixed_p{proto}.pt", make_mixed(),
                 f"mixed state_dict/views/values saved with pickle_protocol={proto}", proto=proto)
    gen.save("proto", "mixed_legacy_p4.pt", make_mixed(),
             "mixed object, legacy format with pickle_protocol=4", proto=4, legacy=True)
    if not TORCH2:
        # 1.13 only: plain pickles involve no torch; make_tar.py is written
        # against 1.13's storages (and 2.6 refuses tar files with weights_only);
        # nn's tests read the 1.13 load_state_dict record.
        write_plain_pickles(gen)
        write_tar(gen)
        write_load_cases(gen)
    gen.write_manifest()
    print(f"wrote {len(gen.fixtures)} fixtures to {out}")

    if args.large:
        lg = Gen(os.path.join(out, "large"), large=True)
        write_large(lg)
        lg.write_manifest()
        print(f"wrote {len(lg.fixtures)} large fixtures to {lg.out}")


if __name__ == "__main__":
    main()
