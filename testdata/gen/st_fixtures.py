#!/usr/bin/python3
"""Writes the safetensors and GGUF fixtures of testdata/safetensors and testdata/gguf.

Truth for the Go packages safetensors/ and gguf/: tensor values come from PyTorch
1.13 and numpy (Debian's python3-torch / python3-numpy); the files are written by
the small spec-exact writers below, which follow the format texts, not pth's code:

* safetensors: huggingface/safetensors README and safetensors/src/tensor.rs
  (u64le header length, compact serde_json header, "__metadata__" first,
  tensors sorted by dtype-enum order descending then name, header padded with
  spaces to a multiple of 8, data contiguous).
* GGUF v3: ggml-org/ggml docs/gguf.md and gguf-py's writer (dims reversed,
  offsets aligned to general.alignment, default 32).

Next to each file an expected JSON records names, dtypes, shapes, the bytes as
hex and the values as torch's tolist() gives them.

Run: /usr/bin/python3 testdata/gen/st_fixtures.py   (from the repository root)
"""
import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ST = os.path.join(ROOT, "safetensors")
GG = os.path.join(ROOT, "gguf")

# Rust Dtype enum order (increasing alignment); the writer sorts by it, descending.
ST_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3",
            "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32",
            "U32", "F32", "C64", "F64", "I64", "U64"]
ST_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
           "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "C64": 8, "F64": 8,
           "I64": 8, "U64": 8}

TORCH_CODE = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
              torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32",
              torch.float32: "F32", torch.complex64: "C64", torch.float64: "F64",
              torch.int64: "I64"}


def torch_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def st_write(path, items, metadata=None):
    """items: list of (name, code, shape, raw bytes). Spec-exact safetensors writer."""
    items = sorted(items, key=lambda it: (-ST_ORDER.index(it[1]), it[0].encode()))
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(sorted(metadata.items()))
    off = 0
    for name, code, shape, raw in items:
        n = ST_SIZE[code]
        for d in shape:
            n *= d
        assert n == len(raw), (name, n, len(raw))
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, _, raw in items:
            f.write(raw)
    return items


def values(t):
    if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
        return t.float().tolist()
    if t.is_complex():
        return [[z.real, z.imag] for z in t.flatten().tolist()]
    return t.tolist()


def expected(items, metadata, extra=None):
    out = {"metadata": metadata, "order": [it[0] for it in items], "tensors": {}}
    for name, code, shape, raw in items:
        e = {"dtype": code, "shape": list(shape), "hex": raw.hex()}
        if extra and name in extra:
            e["values"] = extra[name]
        out["tensors"][name] = e
    return out


def st_fixtures():
    g = torch.Generator().manual_seed(7)
    tensors = {
        "bool": torch.tensor([[True, False, True], [False, False, True]]),
        "u8": torch.arange(0, 250, 50, dtype=torch.uint8),
        "i8": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "i16": torch.tensor([-32768, -2, 3, 32767], dtype=torch.int16),
        "f16": torch.randn(2, 3, generator=g).half(),
        "bf16": torch.randn(3, 2, generator=g).bfloat16(),
        "i32": torch.tensor([[-(2**31), 5], [6, 2**31 - 1]], dtype=torch.int32),
        "f32": torch.randn(2, 2, 2, generator=g),
        "c64": torch.complex(torch.randn(3, generator=g), torch.randn(3, generator=g)),
        "f64": torch.randn(4, generator=g, dtype=torch.float64),
        "i64": torch.tensor([-(2**63), 2**63 - 1, 0], dtype=torch.int64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "layer.0.weight": torch.randn(4, 3, generator=g),
        "layer.10.weight": torch.randn(2, generator=g),
        "layer.2.weight": torch.randn(2, generator=g),
    }
    items = []
    vals = {}
    for name, t in tensors.items():
        code = TORCH_CODE[t.dtype]
        items.append((name, code, list(t.shape), torch_bytes(t)))
        vals[name] = values(t)
    # What safetensors.torch.save_file(tensors, f) writes for the torch tensors
    # (metadata {"format": "pt"}): truth for converting all_dtypes.pt.
    st_write(os.path.join(ST, "all_dtypes_torch.safetensors"), list(items), {"format": "pt"})
    # dtypes torch 1.13 lacks: unsigned 16/32/64 from numpy, float8 as raw bytes
    # (the bit patterns of 1.0, -2.0, 0.5, NaN in e5m2 and e4m3fn).
    for name, code, arr in [("u16", "U16", np.array([0, 1, 65535], dtype="<u2")),
                            ("u32", "U32", np.array([0, 4294967295], dtype="<u4")),
                            ("u64", "U64", np.array([0, 2**64 - 1], dtype="<u8"))]:
        items.append((name, code, list(arr.shape), arr.tobytes()))
        vals[name] = [int(v) for v in arr.tolist()]
    items.append(("f8e5m2", "F8_E5M2", [4], bytes([0x3C, 0xC0, 0x38, 0x7F])))
    items.append(("f8e4m3", "F8_E4M3", [4], bytes([0x38, 0xC0, 0x30, 0x7F])))
    meta = {"format": "pt", "note": "ünïcode \"quoted\" \\ tab\t"}
    items = st_write(os.path.join(ST, "all_dtypes.safetensors"), items, meta)
    with open(os.path.join(ST, "all_dtypes.json"), "w") as f:
        json.dump(expected(items, meta, vals), f, indent=1, sort_keys=True)
    torch.save({k: v for k, v in tensors.items()}, os.path.join(ST, "all_dtypes.pt"))

    # No metadata, names needing JSON escapes, and the empty file.
    items = st_write(os.path.join(ST, "escapes.safetensors"),
                     [("a\"b\\c\n\x01", "F32", [1], struct.pack("<f", 1.5)),
                      ("ключ", "I64", [1], struct.pack("<q", -7))])
    with open(os.path.join(ST, "escapes.json"), "w") as f:
        json.dump(expected(items, None), f, indent=1, sort_keys=True)
    st_write(os.path.join(ST, "empty.safetensors"), [])

    # A small model sharded the way transformers does, with its index.
    lin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    torch.manual_seed(0)
    for p in lin.parameters():
        torch.nn.init.normal_(p)
    sd = lin.state_dict()
    shards = {"model-00001-of-00002.safetensors": ["0.weight", "0.bias"],
              "model-00002-of-00002.safetensors": ["2.weight", "2.bias"]}
    d = os.path.join(ST, "sharded")
    os.makedirs(d, exist_ok=True)
    wm = {}
    total = 0
    for fn, names in shards.items():
        its = [(n, "F32", list(sd[n].shape), torch_bytes(sd[n])) for n in names]
        st_write(os.path.join(d, fn), its, {"format": "pt"})
        for n in names:
            wm[n] = fn
            total += sd[n].numel() * 4
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))}, f, indent=2)
    torch.save(sd, os.path.join(d, "model.pt"))
    # numpy.savez of the same arrays: truth for reading .npz.
    np.savez(os.path.join(d, "model.npz"), **{n: t.numpy() for n, t in sd.items()})
    # The same state_dict cast by PyTorch (.half(), .bfloat16()): truth for --dtype.
    casts = {}
    for dt, code, suffix in [(torch.float16, "F16", "f16"), (torch.bfloat16, "BF16", "bf16")]:
        its = [(n, code, list(t.shape), torch_bytes(t.to(dt))) for n, t in sd.items()]
        st_write(os.path.join(ST, "model_%s.safetensors" % suffix), its, {"format": "pt"})
        diffs = {}
        for n, t in sd.items():
            b = t.to(dt).float()
            ne = t != b
            rel = ((t - b).abs() / b.abs())[ne]
            diffs[n] = {"max_abs": float((t - b).abs().max()), "differing": int(ne.sum()),
                        "max_rel": float(rel.max()) if rel.numel() else 0.0}
        casts[suffix] = diffs
    with open(os.path.join(ST, "model_casts.json"), "w") as f:
        json.dump(casts, f, indent=1, sort_keys=True)
    # A tied pair (as in a language model's embedding and head) for shared-storage handling.
    emb = torch.randn(5, 3, generator=g)
    torch.save({"embed.weight": emb, "head.weight": emb, "head.bias": torch.zeros(5)},
               os.path.join(ST, "tied.pt"))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({n: {"shape": list(t.shape), "values": t.flatten().tolist()} for n, t in sd.items()},
                  f, indent=1, sort_keys=True)


# ---- GGUF ---------------------------------------------------------------------------

GT = {"UINT8": 0, "INT8": 1, "UINT16": 2, "INT16": 3, "UINT32": 4, "INT32": 5, "FLOAT32": 6,
      "BOOL": 7, "STRING": 8, "ARRAY": 9, "UINT64": 10, "INT64": 11, "FLOAT64": 12}
GFMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
        10: "<Q", 11: "<q", 12: "<d"}
# ggml types: id -> (block size, bytes per block), from gguf-py constants.GGML_QUANT_SIZES
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q8_0": (8, 32, 34),
        "Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210), "I8": (24, 1, 1), "I16": (25, 1, 2),
        "I32": (26, 1, 4), "I64": (27, 1, 8), "F64": (28, 1, 8), "BF16": (30, 1, 2)}


def gstr(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == GT["STRING"]:
        return gstr(v)
    if t == GT["ARRAY"]:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        for it in items:
            out += gval(et, it)
        return out
    return struct.pack(GFMT[t], v)


def gguf_write(path, kvs, tensors, alignment=32):
    """kvs: list of (key, type, value); tensors: list of (name, ggml type name, torch-order shape, raw)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    off = 0
    offsets = []
    for name, tname, shape, raw in tensors:
        tid, bs, bb = GGML[tname]
        ne = list(reversed(shape))  # ne[0] is the innermost (last torch) dimension
        n = 1
        for d in ne:
            n *= d
        assert n % bs == 0 and n // bs * bb == len(raw), (name, n, len(raw))
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", tid, off)
        offsets.append(off)
        off += len(raw) + (alignment - len(raw) % alignment) % alignment
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    for name, tname, shape, raw in tensors:
        out += raw + b"\0" * ((alignment - len(raw) % alignment) % alignment)
    with open(path, "wb") as f:
        f.write(out)
    return offsets


def gguf_fixtures():
    g = torch.Generator().manual_seed(11)
    f32 = torch.randn(3, 4, generator=g)
    f16 = torch.randn(2, 5, generator=g).half()
    bf16 = torch.randn(6, generator=g).bfloat16()
    i8 = torch.tensor([[-128, 0], [5, 127]], dtype=torch.int8)
    i16 = torch.tensor([-3, 300], dtype=torch.int16)
    i32 = torch.tensor([[[1, -2]], [[3, 2**31 - 1]]], dtype=torch.int32)
    i64 = torch.tensor([-(2**40), 9], dtype=torch.int64)
    f64 = torch.randn(2, 2, generator=g, dtype=torch.float64)
    rng = np.random.default_rng(3)
    q8 = rng.integers(0, 256, size=2 * 34, dtype=np.uint8).tobytes()      # shape (2, 32)
    q4k = rng.integers(0, 256, size=1 * 144, dtype=np.uint8).tobytes()    # shape (1, 256)
    tensors = [("token_embd.weight", "F32", [3, 4], torch_bytes(f32)),
               ("blk.0.attn_q.weight", "F16", [2, 5], torch_bytes(f16)),
               ("bf16", "BF16", [6], torch_bytes(bf16)),
               ("i8", "I8", [2, 2], torch_bytes(i8)),
               ("i16", "I16", [2], torch_bytes(i16)),
               ("i32", "I32", [2, 1, 2], torch_bytes(i32)),
               ("i64", "I64", [2], torch_bytes(i64)),
               ("f64", "F64", [2, 2], torch_bytes(f64)),
               ("blk.0.ffn_up.weight", "Q8_0", [2, 32], q8),
               ("blk.0.ffn_down.weight", "Q4_K", [1, 256], q4k)]
    kvs = [("general.architecture", GT["STRING"], "llama"),
           ("general.name", GT["STRING"], "pth fixture ünï"),
           ("general.alignment", GT["UINT32"], 64),
           ("general.quantization_version", GT["UINT32"], 2),
           ("t.u8", GT["UINT8"], 255), ("t.i8", GT["INT8"], -128),
           ("t.u16", GT["UINT16"], 65535), ("t.i16", GT["INT16"], -32768),
           ("t.u32", GT["UINT32"], 4294967295), ("t.i32", GT["INT32"], -2147483648),
           ("t.f32", GT["FLOAT32"], 0.5), ("t.bool", GT["BOOL"], True),
           ("t.u64", GT["UINT64"], 2**64 - 1), ("t.i64", GT["INT64"], -(2**63)),
           ("t.f64", GT["FLOAT64"], -1.25),
           ("t.arr_i32", GT["ARRAY"], (GT["INT32"], [1, -2, 3])),
           ("t.arr_str", GT["ARRAY"], (GT["STRING"], ["a", "", "ç"])),
           ("t.arr_nested", GT["ARRAY"], (GT["ARRAY"], [(GT["UINT8"], [1, 2]), (GT["UINT8"], [])]))]
    offsets = gguf_write(os.path.join(GG, "mixed.gguf"), kvs, tensors, alignment=64)
    vals = {"token_embd.weight": f32, "blk.0.attn_q.weight": f16, "bf16": bf16, "i8": i8,
            "i16": i16, "i32": i32, "i64": i64, "f64": f64}
    exp = {"alignment": 64, "kv": [[k, t, v if t != GT["ARRAY"] else list(v)] for k, t, v in kvs],
           "tensors": [{"name": n, "type": GGML[tn][0], "shape": s, "ne": list(reversed(s)),
                        "offset": o, "nbytes": len(raw), "hex": raw.hex(),
                        "values": values(vals[n]) if n in vals else None}
                       for (n, tn, s, raw), o in zip(tensors, offsets)]}
    with open(os.path.join(GG, "mixed.json"), "w") as f:
        json.dump(exp, f, indent=1)

    # Default alignment (no general.alignment key), F32 only: what pth's writer must reproduce.
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.tensor([1.5], dtype=torch.float32)
    tensors = [("a", "F32", [2, 3], torch_bytes(a)), ("b", "F32", [1], torch_bytes(b))]
    kvs = [("general.architecture", GT["STRING"], "pth")]
    gguf_write(os.path.join(GG, "default_align.gguf"), kvs, tensors)


if __name__ == "__main__":
    os.makedirs(ST, exist_ok=True)
    os.makedirs(GG, exist_ok=True)
    st_fixtures()
    gguf_fixtures()
