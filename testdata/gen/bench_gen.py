#!/usr/bin/python3
"""Write the benchmark checkpoints with real PyTorch (Debian python3-torch).

    bench_gen.py OUTDIR

OUTDIR/gpt2.pt   a GPT-2-small-shaped state_dict: 148 float32 tensors named as in
                 Hugging Face's GPT2Model (transformer.wte.weight 50257x768,
                 transformer.wpe.weight 1024x768, 12 blocks of ln_1, attn.c_attn,
                 attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, then transformer.ln_f),
                 124,439,808 parameters, about 498 MB
OUTDIR/many.pt   a state_dict of 20,000 small float32 tensors (layers.N.weight,
                 16 or 4x4 elements each)

Both are seeded (torch.manual_seed(0)) and saved with torch.save's default zip
format. Time them with bench_torch.py.
"""

import collections
import os
import sys

import torch

GPT2 = dict(vocab=50257, ctx=1024, d=768, layers=12)


def gpt2_shapes():
    v, n, d = GPT2["vocab"], GPT2["ctx"], GPT2["d"]
    yield "transformer.wte.weight", (v, d)
    yield "transformer.wpe.weight", (n, d)
    for i in range(GPT2["layers"]):
        p = f"transformer.h.{i}."
        yield p + "ln_1.weight", (d,)
        yield p + "ln_1.bias", (d,)
        yield p + "attn.c_attn.weight", (d, 3 * d)
        yield p + "attn.c_attn.bias", (3 * d,)
        yield p + "attn.c_proj.weight", (d, d)
        yield p + "attn.c_proj.bias", (d,)
        yield p + "ln_2.weight", (d,)
        yield p + "ln_2.bias", (d,)
        yield p + "mlp.c_fc.weight", (d, 4 * d)
        yield p + "mlp.c_fc.bias", (4 * d,)
        yield p + "mlp.c_proj.weight", (4 * d, d)
        yield p + "mlp.c_proj.bias", (d,)
    yield "transformer.ln_f.weight", (d,)
    yield "transformer.ln_f.bias", (d,)


def gpt2_state_dict():
    torch.manual_seed(0)
    sd = collections.OrderedDict()
    for name, shape in gpt2_shapes():
        sd[name] = torch.empty(shape).normal_(0, 0.02)
    return sd


def many_state_dict(n=20000):
    torch.manual_seed(0)
    sd = collections.OrderedDict()
    for i in range(n):
        sd[f"layers.{i}.weight"] = torch.randn(16) if i % 2 == 0 else torch.randn(4, 4)
    return sd


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_gen.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sd = gpt2_state_dict()
    assert len(sd) == 148, len(sd)
    params = sum(t.numel() for t in sd.values())
    assert params == 124439808, params
    path = os.path.join(out, "gpt2.pt")
    torch.save(sd, path)
    print(f"{path}: {len(sd)} tensors, {params} parameters, {os.path.getsize(path)} bytes")
    del sd
    sd = many_state_dict()
    path = os.path.join(out, "many.pt")
    torch.save(sd, path)
    print(f"{path}: {len(sd)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
