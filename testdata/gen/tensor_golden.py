#!/usr/bin/python3
"""Write tensor/testdata/tensor_golden.json: PyTorch 1.13's view of dtypes, strided
views and dtype conversions, the truth for pth's tensor package.

    /usr/bin/python3 testdata/gen/tensor_golden.py

- "dtypes": for every dtype 1.13 has, its name, element size, typed storage class
  (torch.storage._dtype_to_storage_type_map), floating/complex/quantized flags, and
  numpy's array-interface descriptor where numpy has the type.
- "views": for (shape, stride, offset) views of a storage of consecutive integers,
  torch's is_contiguous() and the elements of .contiguous() (which are the storage
  indices, in row-major order).
- "convert": float64/int64/float32 values converted by tensor.to(dtype), as bits.
- "elementwise": per real dtype, raw bytes of edge values and their conversions.
- "quantized": per-tensor and per-channel affine tensors, their int_repr bytes,
  qparams and dequantize() output.
"""
import json
import os
import random
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tensor", "testdata", "tensor_golden.json")

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex32, torch.complex64,
          torch.complex128, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
          torch.qint8, torch.quint8, torch.qint32, torch.quint4x2, torch.quint2x4]

NUMPY = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
         torch.complex64: np.complex64, torch.complex128: np.complex128, torch.int8: np.int8,
         torch.int16: np.int16, torch.int32: np.int32, torch.int64: np.int64, torch.uint8: np.uint8,
         torch.bool: np.bool_}


def dtypes():
    smap = torch.storage._dtype_to_storage_type_map()
    out = []
    for d in DTYPES:
        out.append({
            "name": str(d).replace("torch.", ""),
            "size": torch._utils._element_size(d),
            "storage": smap.get(d, ""),
            "float": d.is_floating_point,
            "complex": d.is_complex,
            "quantized": d in (torch.qint8, torch.quint8, torch.qint32, torch.quint4x2, torch.quint2x4),
            "numpy": np.dtype(NUMPY[d]).str if d in NUMPY else "",
        })
    return out


def views():
    cases = [
        ((), (), 0), ((), (), 5), ((0,), (1,), 0), ((3, 0, 2), (0, 2, 1), 7), ((5,), (1,), 0), ((3,), (2,), 2),
        ((2, 3), (3, 1), 0), ((3, 2), (1, 3), 0), ((2, 3, 4), (12, 4, 1), 1), ((2, 3, 4), (1, 2, 6), 0),
        ((4, 3), (0, 1), 0), ((3, 4), (1, 0), 2), ((1, 5), (99, 1), 0), ((5, 1), (1, 99), 0),
        ((2, 1, 3), (3, 7, 1), 0), ((2, 2, 2, 3), (12, 1, 6, 2), 0), ((2, 3, 2, 2), (12, 1, 6, 3), 0),
        ((3, 3), (4, 1), 0), ((2, 2), (1, 1), 0), ((1,), (0,), 3), ((2, 2, 2), (0, 0, 0), 1),
        ((4, 2), (2, 5), 1),
    ]
    out = []
    for shape, stride, off in cases:
        need = off + sum((s - 1) * st for s, st in zip(shape, stride)) + 1 if all(shape) else off + 1
        base = torch.arange(need, dtype=torch.int64)
        v = torch.as_strided(base, shape, stride, off)
        out.append({"shape": list(shape), "strides": list(stride), "offset": off, "storage": need,
                    "contiguous": v.is_contiguous(), "elements": v.contiguous().flatten().tolist()})
    return out


def bits(t, dtype):
    width = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
             torch.float64: torch.int64}[dtype]
    mask = {torch.int16: 0xFFFF, torch.int32: 0xFFFFFFFF, torch.int64: 0xFFFFFFFFFFFFFFFF}[width]
    return [x & mask for x in t.to(dtype).view(width).tolist()]


def convert():
    rnd = random.Random(1128)
    f64 = [0.0, -0.0, 1.0, 1 / 3, 65504.0, 65520.0, 1e300, -1e-300, 2.0 ** -24, 2.0 ** -25, 3.4028235677973366e38,
           3.4028235677973362e38]
    # doubles just off float32 rounding ties towards float16 ties: double rounding shows up here
    for _ in range(300):
        h = rnd.randrange(0x0400, 0x7BFF)
        lo = np.frombuffer(struct.pack("<H", h), "<f2")[0].astype(np.float64)
        hi = np.frombuffer(struct.pack("<H", h + 1), "<f2")[0].astype(np.float64)
        mid = (lo + hi) / 2
        f64 += [float(mid), float(np.nextafter(mid, 0)), float(np.nextafter(mid, np.inf))]
    for _ in range(300):
        f64.append(struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(63)))[0])
    f64 = [x for x in f64 if x == x]
    i64 = [0, 1, -1, 2 ** 24 + 1, 2 ** 53 + 1, 2 ** 62 + 2 ** 38 + 1, -(2 ** 63), 2 ** 63 - 1, 65519, 65520, 300000]
    for _ in range(300):
        i64.append(rnd.getrandbits(64) - 2 ** 63)
        i64.append(rnd.getrandbits(30) * (1 if rnd.random() < 0.5 else -1))
    tf = torch.tensor(f64, dtype=torch.float64)
    ti = torch.tensor(i64, dtype=torch.int64)
    out = {"float64": [struct.unpack("<Q", struct.pack("<d", x))[0] for x in f64], "int64": i64}
    for name, dt in [("float32", torch.float32), ("float16", torch.float16), ("bfloat16", torch.bfloat16)]:
        out["float64_to_" + name] = bits(tf, dt)
        out["int64_to_" + name] = bits(ti, dt)
    # float32 -> int64 truncation (in-range values only: out-of-range is undefined in C++)
    f32 = [0.5, -0.5, 1.9999, -1.9999, 1e10, -1e10, 2.0 ** 62, 123456.78]
    out["float32"] = f32
    out["float32_to_int64"] = torch.tensor(f32, dtype=torch.float32).to(torch.int64).tolist()
    return out


def u64(a):
    return [int(x) for x in np.asarray(a).view("<u8").ravel()]


def elementwise():
    """For each real dtype: raw little-endian bytes of some edge values, and what
    .double(), .float(), .bool(), .to(float16/bfloat16) give, as bits; .long() for
    integer and bool dtypes. uint16/32/64 (not in torch 1.13) use numpy's astype."""
    out = []
    finite = [0.0, -0.0, 1.0, -2.5, 3.14159, 1e-3, 65504.0, 70000.0, -1e-8, 1e30]
    specials = [float("inf"), float("-inf"), float("nan")]
    ints = {torch.int8: [0, 1, -1, 127, -128, 55], torch.int16: [0, -32768, 32767, 1234, -5],
            torch.int32: [0, -2 ** 31, 2 ** 31 - 1, 16777217, -7], torch.int64: [0, -2 ** 63, 2 ** 63 - 1, 2 ** 53 + 1, 3],
            torch.uint8: [0, 255, 128, 1], torch.bool: [True, False, True]}
    for d in [torch.float32, torch.float64, torch.float16, torch.bfloat16]:
        t = torch.tensor(finite + specials, dtype=torch.float64).to(d)
        out.append(record(str(d)[6:], t, t.view(torch.uint8).numpy().tobytes(), integer=False))
    for d, vals in ints.items():
        t = torch.tensor(vals, dtype=d)
        out.append(record(str(d)[6:], t, t.numpy().tobytes(), integer=True))
    for name, npd, vals in [("uint16", np.uint16, [0, 65535, 300]), ("uint32", np.uint32, [0, 2 ** 32 - 1, 16777217]),
                            ("uint64", np.uint64, [0, 2 ** 64 - 1, 2 ** 53 + 1, 2 ** 63])]:
        a = np.array(vals, dtype=npd)
        f32 = a.astype(np.float32)
        out.append({"dtype": name, "raw": a.astype("<" + a.dtype.str[1:]).tobytes().hex(),
                    "float64": u64(a.astype(np.float64)), "float32": [int(x) for x in f32.view("<u4")],
                    "bool": [bool(x) for x in a.astype(bool)],
                    "float16": [int(x) for x in torch.from_numpy(f32).to(torch.float16).view(torch.int16).numpy().view("<u2")],
                    "int64": [int(x) for x in a.astype(np.int64)] if name != "uint64" else [int(x) for x in a.view(np.int64)]})
    return out


def record(name, t, raw, integer):
    r = {"dtype": name, "raw": raw.hex(),
         "float64": u64(t.double().numpy()),
         "float32": [int(x) for x in t.float().numpy().view("<u4")],
         "bool": t.bool().tolist(),
         "float16": [int(x) for x in t.to(torch.float16).view(torch.int16).numpy().view("<u2")],
         "bfloat16": [int(x) for x in t.to(torch.bfloat16).view(torch.int16).numpy().view("<u2")]}
    if integer:
        r["int64"] = t.long().tolist()
    return r


def quantized():
    """Quantized tensors: int_repr bytes, qparams and q.dequantize() as float32 bits."""
    torch.manual_seed(3)
    out = []

    def add(q, **params):
        d = q.dequantize().contiguous()
        out.append(dict(params, dtype=str(q.dtype)[6:], shape=list(q.shape), scheme=str(q.qscheme())[6:],
                        raw=q.int_repr().contiguous().numpy().tobytes().hex(),
                        dequantized=[int(v) for v in d.numpy().view("<u4").ravel()]))

    x = torch.randn(3, 50) * 4
    for dt, zp in [(torch.qint8, 3), (torch.quint8, 128), (torch.qint32, -7)]:
        for scale in [0.0137, 0.25, 1e-3]:
            add(torch.quantize_per_tensor(x, scale, zp, dt), scale=scale, zero_point=zp)
    for axis in [0, 1]:
        n = x.shape[axis]
        scales = torch.rand(n, dtype=torch.float64) * 0.2 + 0.01
        zps = torch.randint(-5, 5, (n,))
        for dt in [torch.qint8, torch.quint8]:
            z = zps + (128 if dt == torch.quint8 else 0)
            q = torch.quantize_per_channel(x, scales, z, axis, dt)
            add(q, axis=axis, scales=q.q_per_channel_scales().tolist(), zero_points=q.q_per_channel_zero_points().tolist())
    return out


def main():
    doc = {"torch_version": torch.__version__, "dtypes": dtypes(), "views": views(), "convert": convert(),
           "elementwise": elementwise(), "quantized": quantized()}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
