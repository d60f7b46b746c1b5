#!/usr/bin/python3
"""Check that two PyTorch files hold the same object, as PyTorch sees them.

    roundtrip_check.py ORIG OTHER [--weights-only]
    roundtrip_check.py --pairs LIST [--weights-only]
    roundtrip_check.py --selftest

Loads both with torch.load(map_location='cpu', weights_only=False) (OTHER with
weights_only=True when --weights-only is given) and compares them deeply:

- the same structure and types: OrderedDict vs dict, Parameter vs Tensor,
  tuple vs list, numpy arrays and scalars, sets, and for other objects (an
  argparse.Namespace, torch.Size, torch.device) their type and attributes;
  dict keys in the same order, and an OrderedDict's `_metadata` equal;
- equal values (floats bit for bit, so nan == nan and -0.0 != 0.0);
- tensors bitwise equal with the same dtype, shape, stride, storage_offset,
  requires_grad, quantization parameters, layout (sparse COO) and device type
  (with torch 2.x also the conjugate and negative bits, and a Parameter's
  Python attributes);
- storage sharing preserved: tensors share a storage in OTHER exactly when
  they do in ORIG.

Prints the first difference with its path and exits 1; exits 0 when equal.

`--pairs LIST` checks many pairs in one process (importing torch once): LIST
(or - for stdin) has one "ORIG<TAB>OTHER" per line; each pair prints one JSON
line {"orig", "other", "equal": bool, "difference": str or null}; the exit
status is 1 if any pair differs or fails to load.

`--selftest` checks that the comparison catches deliberate differences.

Runs with torch 1.13 (/usr/bin/python3) and torch 2.x (e.g. the trixie root of
testdata/gen/torch2_chroot.sh): the Go tests use it as the oracle for both.
"""

import argparse
import collections
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

# torch 2.x: UntypedStorage, dtypes without numpy equivalents, conj/neg bits, and
# torch.load defaulting to weights_only=True (2.6): ORIG is always loaded with False.
TORCH2 = int(torch.__version__.split(".")[0]) >= 2


class Difference(Exception):
    pass


def _join(path, key):
    key = str(key)
    return key if path == "" else path + "/" + key


def _raw(t):
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    if TORCH2:
        t = t.resolve_conj().resolve_neg()
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    elif TORCH2 and t.dtype in torch.storage._new_dtypes():
        t = t.reshape(-1).view(torch.uint8)  # uint16/32/64, float8, complex32: no numpy dtype
    return t.numpy().tobytes()


def _cdata(t):
    return t.untyped_storage()._cdata if TORCH2 else t.storage()._storage._cdata


class _Comparer:
    def __init__(self):
        self.storages_a = {}  # storage id -> group number (first-seen order)
        self.storages_b = {}

    def fail(self, path, msg):
        raise Difference(f"{path or '<root>'}: {msg}")

    def storage(self, path, a, b):
        ga = self.storages_a.setdefault(_cdata(a), len(self.storages_a))
        gb = self.storages_b.setdefault(_cdata(b), len(self.storages_b))
        if ga != gb:
            self.fail(path, f"storage sharing differs (storage group {ga} vs {gb})")

    def tensor(self, path, a, b):
        for what, fa, fb in (
            ("dtype", a.dtype, b.dtype),
            ("layout", a.layout, b.layout),
            ("device type", a.device.type, b.device.type),
            ("shape", tuple(a.shape), tuple(b.shape)),
            ("requires_grad", a.requires_grad, b.requires_grad),
            ("is_quantized", a.is_quantized, b.is_quantized),
        ) + ((
            ("conjugate bit", a.is_conj(), b.is_conj()),
            ("negative bit", a.is_neg(), b.is_neg()),
        ) if TORCH2 else ()):
            if fa != fb:
                self.fail(path, f"{what} {fa} vs {fb}")
        if a.layout == torch.sparse_csr:
            self.tensor(_join(path, "crow_indices"), a.crow_indices(), b.crow_indices())
            self.tensor(_join(path, "col_indices"), a.col_indices(), b.col_indices())
            self.tensor(_join(path, "values"), a.values(), b.values())
            return
        if a.is_sparse:
            if a.is_coalesced() != b.is_coalesced():
                self.fail(path, "is_coalesced differs")
            self.tensor(_join(path, "_indices"), a._indices(), b._indices())
            self.tensor(_join(path, "_values"), a._values(), b._values())
            return
        if a.stride() != b.stride():
            self.fail(path, f"stride {a.stride()} vs {b.stride()}")
        if a.storage_offset() != b.storage_offset():
            self.fail(path, f"storage_offset {a.storage_offset()} vs {b.storage_offset()}")
        if a.is_meta:
            return
        if a.is_quantized:
            if a.qscheme() != b.qscheme():
                self.fail(path, f"qscheme {a.qscheme()} vs {b.qscheme()}")
            if a.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                qa, qb = (a.q_scale(), a.q_zero_point()), (b.q_scale(), b.q_zero_point())
            else:
                qa = (_raw(a.q_per_channel_scales()), _raw(a.q_per_channel_zero_points()),
                      a.q_per_channel_axis())
                qb = (_raw(b.q_per_channel_scales()), _raw(b.q_per_channel_zero_points()),
                      b.q_per_channel_axis())
            if qa != qb:
                self.fail(path, "quantization parameters differ")
        if _raw(a) != _raw(b):
            self.fail(path, "tensor data differs")
        self.storage(path, a, b)
        da, db = getattr(a, "__dict__", {}), getattr(b, "__dict__", {})
        if da or db:  # Python attributes of a tensor subclass
            self.value(_join(path, "__dict__"), da, db)

    def value(self, path, a, b):
        if type(a) is not type(b):
            self.fail(path, f"type {type(a).__module__}.{type(a).__qualname__} vs "
                            f"{type(b).__module__}.{type(b).__qualname__}")
        if isinstance(a, torch.Tensor):
            self.tensor(path, a, b)
        elif isinstance(a, dict):
            ka, kb = list(a.keys()), list(b.keys())
            if ka != kb:
                only_a = [k for k in ka if k not in b]
                only_b = [k for k in kb if k not in a]
                if only_a or only_b:
                    self.fail(path, f"keys only in ORIG {only_a}, only in OTHER {only_b}")
                self.fail(path, f"key order {ka} vs {kb}")
            for k in ka:
                self.value(_join(path, k), a[k], b[k])
            ma, mb = getattr(a, "_metadata", None), getattr(b, "_metadata", None)
            if (ma is None) != (mb is None):
                self.fail(path, f"_metadata {ma!r} vs {mb!r}")
            if ma is not None:
                self.value(_join(path, "_metadata"), ma, mb)
        elif isinstance(a, (list, tuple)) and not isinstance(a, torch.Size):
            if len(a) != len(b):
                self.fail(path, f"length {len(a)} vs {len(b)}")
            for i, (x, y) in enumerate(zip(a, b)):
                self.value(_join(path, i), x, y)
        elif isinstance(a, float):
            if struct.pack("<d", a) != struct.pack("<d", b) and not (math.isnan(a) and math.isnan(b)):
                self.fail(path, f"{a!r} vs {b!r}")
        elif isinstance(a, complex):
            self.value(_join(path, "real"), a.real, b.real)
            self.value(_join(path, "imag"), a.imag, b.imag)
        elif isinstance(a, (np.ndarray, np.generic)):
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                self.fail(path, f"numpy {a.dtype}{list(a.shape)} {a!r} vs {b.dtype}{list(b.shape)} {b!r}")
        elif isinstance(a, (int, str, bytes, bytearray, bool, type(None), set, frozenset,
                            torch.Size, torch.device, torch.dtype)):
            if a != b:
                self.fail(path, f"{a!r} vs {b!r}")
        elif hasattr(a, "__dict__"):
            self.value(_join(path, "__dict__"), vars(a), vars(b))
        elif a != b:
            self.fail(path, f"{a!r} vs {b!r}")


def compare(a, b):
    """Returns None when a and b are the same object tree, else the first difference."""
    try:
        _Comparer().value("", a, b)
    except Difference as e:
        return str(e)
    return None


FIXTURE_CLASSES = ("SimpleNet", "ConvNet", "TaggedTensor")


def provide_fixture_classes():
    """Makes the generator's classes loadable as __main__.X, as the fixtures pickled them.

    Files written by gen_fixtures.py (run as a script) refer to __main__.SimpleNet
    and __main__.TaggedTensor; torch.load needs those names to exist.
    """
    main = sys.modules["__main__"]
    if all(hasattr(main, n) for n in FIXTURE_CLASSES):
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gen_fixtures
    for n in FIXTURE_CLASSES:
        if not hasattr(main, n):
            setattr(main, n, getattr(gen_fixtures, n))


def check_files(orig, other, weights_only=False):
    a = torch.load(orig, map_location="cpu", weights_only=False)
    b = torch.load(other, map_location="cpu", weights_only=weights_only)
    return compare(a, b)


# --------------------------------------------------------------------------
# Self-test: every deliberate difference must be caught, equal files must pass.


def _sample():
    torch.manual_seed(0)
    w = torch.randn(3, 4)
    sd = collections.OrderedDict([("fc.weight", w), ("fc.bias", torch.randn(3))])
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("fc", {"version": 1})])
    return {
        "sd": sd,
        "p": nn.Parameter(torch.randn(2)),
        "view": w.t(),
        "tied": w,
        "pair": (1, 2.5),
        "np": np.array([1, 2], dtype=np.int64),
        "npf": np.float64(0.5),
        "ns": argparse.Namespace(lr=0.1),
        "bf": torch.tensor([1.0, -0.0], dtype=torch.bfloat16),
        "nan": float("nan"),
        "q": torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.1, 2, torch.quint8),
        "tagged": _tagged(),
    }


class SelfTestTensor(torch.Tensor):
    """A tensor subclass for the self-test (pickled as __main__.SelfTestTensor)."""


def _tagged():
    t = torch.arange(3.0).as_subclass(SelfTestTensor)
    t.tag = "x"
    return t


def _mutations():
    """(name, function mutating the sample) for differences that must be detected."""

    return [
        ("value", lambda o: o["sd"]["fc.bias"].add_(1)),
        ("lowest bit", lambda o: o["bf"].view(torch.int16)[0:1].add_(1)),
        ("dtype", lambda o: o["sd"].__setitem__("fc.bias", o["sd"]["fc.bias"].double())),
        ("stride", lambda o: o.__setitem__("view", o["view"].contiguous())),
        ("storage sharing", lambda o: o.__setitem__("tied", o["tied"].clone())),
        ("OrderedDict->dict", lambda o: o.__setitem__("sd", dict(o["sd"]))),
        ("Parameter->Tensor", lambda o: o.__setitem__("p", o["p"].data)),
        ("requires_grad", lambda o: o.__setitem__("p", nn.Parameter(o["p"].data, requires_grad=False))),
        ("tuple->list", lambda o: o.__setitem__("pair", list(o["pair"]))),
        ("float", lambda o: o.__setitem__("pair", (1, 2.5000000000000004))),
        ("int->bool", lambda o: o.__setitem__("pair", (True, 2.5))),
        ("numpy dtype", lambda o: o.__setitem__("np", o["np"].astype(np.int32))),
        ("numpy scalar type", lambda o: o.__setitem__("npf", np.float32(0.5))),
        ("namespace attr", lambda o: setattr(o["ns"], "lr", 0.2)),
        ("_metadata", lambda o: o["sd"]._metadata["fc"].__setitem__("version", 2)),
        ("extra key", lambda o: o.__setitem__("extra", 1)),
        ("key order", lambda o: o.__setitem__("sd", collections.OrderedDict(reversed(list(o["sd"].items()))))),
        ("negative zero", lambda o: o["bf"].__setitem__(1, 0.0)),
        ("subclass attribute", lambda o: setattr(o["tagged"], "tag", "changed")),
        ("subclass->Tensor", lambda o: o.__setitem__("tagged", o["tagged"].as_subclass(torch.Tensor))),
        ("qparams", lambda o: o.__setitem__(
            "q", torch.quantize_per_tensor(torch.tensor([0.5, 1.0]), 0.1, 3, torch.quint8))),
    ]


def _run_cli(a, b, *extra):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), a, b, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def selftest():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        orig = os.path.join(d, "orig.pt")
        torch.save(_sample(), orig)
        # The same object in the legacy format and at protocol 4 must compare equal.
        for name, kw in (("legacy", dict(_use_new_zipfile_serialization=False)),
                         ("protocol 4", dict(pickle_protocol=4))):
            same = os.path.join(d, "same.pt")
            torch.save(_sample(), same, **kw)
            diff = check_files(orig, same)
            if diff:
                failures.append(f"{name} resave reported a difference: {diff}")
        for name, mutate in _mutations():
            obj = _sample()
            mutate(obj)
            other = os.path.join(d, "other.pt")
            torch.save(obj, other)
            diff = check_files(orig, other)
            if diff is None:
                failures.append(f"{name}: difference not detected")
            else:
                print(f"ok  {name:20s} -> {diff}")
        # The command line: exit codes and --weights-only.
        torch.manual_seed(0)
        sd = nn.Linear(3, 2).state_dict()
        a, b = os.path.join(d, "a.pt"), os.path.join(d, "b.pt")
        torch.save(sd, a)
        torch.save(sd, b, _use_new_zipfile_serialization=False)
        rc, _ = _run_cli(a, b, "--weights-only")
        if rc != 0:
            failures.append(f"CLI: equal state_dicts gave exit {rc}")
        if TORCH2:
            torch.save({"w": sd["weight"], "args": argparse.Namespace(lr=0.1)}, b)
        else:
            torch.save({"w": sd["weight"], "epoch": 1.5}, b)  # BINFLOAT: 1.13 weights_only refuses it
        rc, line = _run_cli(a, b, "--weights-only")
        if rc != 1:
            failures.append(f"CLI: weights-only refusal gave exit {rc}")
        sd2 = collections.OrderedDict(sd)
        sd2["bias"] = sd2["bias"] + 1
        torch.save(sd2, b)
        rc, line = _run_cli(a, b)
        if rc != 1 or "bias" not in line:
            failures.append(f"CLI: changed bias gave exit {rc}, {line!r}")
        pairs = os.path.join(d, "pairs.txt")
        with open(pairs, "w") as f:
            f.write(f"{a}\t{a}\n{a}\t{b}\n")
        rc, line = _run_cli("--pairs", pairs)
        if rc != 1 or '"equal": false' not in line:
            failures.append(f"CLI --pairs: one differing pair gave exit {rc}, {line!r}")
        with open(pairs, "w") as f:
            f.write(f"{a}\t{a}\n")
        rc, line = _run_cli("--pairs", pairs)
        if rc != 0 or '"equal": true' not in line:
            failures.append(f"CLI --pairs: an equal pair gave exit {rc}, {line!r}")
    for f in failures:
        print("FAIL", f)
    print("selftest", "FAILED" if failures else "passed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("orig", nargs="?")
    ap.add_argument("other", nargs="?")
    ap.add_argument("--weights-only", action="store_true",
                    help="load OTHER with torch.load(weights_only=True)")
    ap.add_argument("--pairs", metavar="LIST",
                    help='file (or "-") of "ORIG<TAB>OTHER" lines to check in one run')
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    provide_fixture_classes()
    if args.pairs:
        return check_pairs(args.pairs, args.weights_only)
    if not args.orig or not args.other:
        ap.error("ORIG and OTHER are required")
    diff = check_or_explain(args.orig, args.other, args.weights_only)
    if diff:
        print(f"differ: {diff}")
        return 1
    print("equal")
    return 0


def check_or_explain(orig, other, weights_only):
    """check_files, with a load failure reported as the difference."""
    try:
        return check_files(orig, other, weights_only)
    except Exception as e:
        return f"cannot load: {type(e).__name__}: {e}"


def check_pairs(list_path, weights_only):
    f = sys.stdin if list_path == "-" else open(list_path)
    status = 0
    with f:
        for line in f:
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                print(json.dumps({"line": line.rstrip("\n"), "equal": False,
                                  "difference": "expected ORIG<TAB>OTHER"}))
                status = 1
                continue
            diff = check_or_explain(parts[0], parts[1], weights_only)
            print(json.dumps({"orig": parts[0], "other": parts[1], "equal": diff is None,
                              "difference": diff}), flush=True)
            if diff:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
