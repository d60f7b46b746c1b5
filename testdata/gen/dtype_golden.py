#!/usr/bin/python3
"""Write tensor/testdata/dtype_golden.json.gz: the truth for pth's float conversions.

Run with Debian's python3-torch 1.13 (/usr/bin/python3):

    /usr/bin/python3 testdata/gen/dtype_golden.py

float16 and bfloat16 come from PyTorch itself: every float16 bit pattern decoded to
float32, every bfloat16 pattern in a sample, and a list of float32 inputs (edge cases:
zeros, subnormals, rounding ties and their neighbours, the overflow boundary,
infinities, NaNs, random values) encoded with tensor.to(dtype).

PyTorch 1.13 has no float8 dtypes and no independent float8 implementation
(ml_dtypes) is installable here, so the float8 tables are computed below from the
formats' bit layouts (OCP 8-bit floating point spec for e5m2/e4m3fn, the fnuz layouts
of Graphcore/AMD as adopted by PyTorch 2.1, and OCP MX e8m0) with exact rational
arithmetic: each input is rounded to the nearest representable value by brute-force
search, ties to even mantissa. This is a separate implementation from the Go code
(which works on bit fields), not a copy of it. Overflow follows PyTorch's c10
conversions: e5m2 overflows to +-inf; e4m3fn, e5m2fnuz and e4m3fnuz have no infinity
and overflow (or +-inf) becomes NaN, no saturation; fnuz has no negative zero.
"""
import gzip
import json
import os
import random
import struct
from fractions import Fraction

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tensor", "testdata", "dtype_golden.json.gz")


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits32(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def exact(bits):
    """float32 bit pattern -> Fraction, or None for inf/NaN."""
    e = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    s = -1 if bits >> 31 else 1
    if e == 0xFF:
        return None
    if e == 0:
        return s * Fraction(m, 1 << 149)
    return s * Fraction(m | 1 << 23) * Fraction(2) ** (e - 150)


class Fmt:
    def __init__(self, name, ebits, mbits, bias, kind):
        self.name, self.ebits, self.mbits, self.bias, self.kind = name, ebits, mbits, bias, kind
        self.values = {}  # bits -> Fraction (finite values only)
        for b in range(256):
            v = self.decode(b)
            if v is not None and not isinstance(v, str):
                self.values[b] = v

    def decode(self, b):
        """bits -> Fraction, or 'nan' / 'inf' / '-inf'."""
        sign = b >> 7
        exp = (b >> self.mbits) & ((1 << self.ebits) - 1)
        man = b & ((1 << self.mbits) - 1)
        emax_field = (1 << self.ebits) - 1
        if self.kind == "ieee" and exp == emax_field:
            return "nan" if man else ("-inf" if sign else "inf")
        if self.kind == "fn" and exp == emax_field and man == (1 << self.mbits) - 1:
            return "nan"
        if self.kind == "fnuz" and b == 0x80:
            return "nan"
        if exp == 0:
            v = Fraction(man, 1 << self.mbits) * Fraction(2) ** (1 - self.bias)
        else:
            v = (1 + Fraction(man, 1 << self.mbits)) * Fraction(2) ** (exp - self.bias)
        return -v if sign else v

    def decode_f32(self, b):
        v = self.decode(b)
        if v == "nan":
            return "nan"
        if v == "inf":
            return 0x7F800000
        if v == "-inf":
            return 0xFF800000
        if v == 0 and b >> 7:
            return 0x80000000
        return bits32(float(v))  # exact: every value fits float32

    def encode(self, xbits):
        neg = xbits >> 31
        x = exact(xbits)
        nan = 0x80 if self.kind == "fnuz" else (0x7F | (neg << 7))
        if self.kind == "ieee":
            nan = (((1 << self.ebits) - 1) << self.mbits | 1 << (self.mbits - 1)) | (neg << 7)
        inf = (((1 << self.ebits) - 1) << self.mbits) | (neg << 7)
        if x is None:
            if xbits & 0x7FFFFF:
                return nan
            return inf if self.kind == "ieee" else nan
        a = abs(x)
        pos = sorted((v, b) for b, v in self.values.items() if v >= 0 and not (b >> 7))
        top, topbits = pos[-1]
        # The value just past the largest finite one, in the format's own spacing:
        # rounding to it means overflow. Its pattern would be topbits+1 (0x7c for
        # e5m2, 0x7f for e4m3fn, 0x80 for fnuz), which decides its parity in a tie.
        ulp_top = Fraction(2) ** (((topbits >> self.mbits) - self.bias) - self.mbits)
        virtual = top + ulp_top
        cands = pos + [(virtual, topbits + 1)]
        best = None
        for v, b in cands:
            d = abs(a - v)
            if best is None or d < best[0]:
                best = (d, v, b)
            elif d == best[0] and best[2] & 1 and not b & 1:
                best = (d, v, b)  # tie: prefer the even pattern
        _, v, b = best
        if b == topbits + 1:
            return inf if self.kind == "ieee" else nan
        if b == 0:
            return 0 if self.kind == "fnuz" else (neg << 7)
        return b | (neg << 7)


FLOAT8 = [
    Fmt("float8_e5m2", 5, 2, 15, "ieee"),
    Fmt("float8_e4m3fn", 4, 3, 7, "fn"),
    Fmt("float8_e5m2fnuz", 5, 2, 16, "fnuz"),
    Fmt("float8_e4m3fnuz", 4, 3, 8, "fnuz"),
]


def e8m0_decode(b):
    if b == 0xFF:
        return "nan"
    return bits32(float(Fraction(2) ** (b - 127)))


def e8m0_encode(xbits):
    """float8_e8m0fnu (OCP MX scale: 2^(b-127), no sign, no zero, 0xff NaN) as
    PyTorch 2.7 rounds: sign ignored; NaN/inf -> 0xff; x in [2^k, 2^(k+1)) rounds up
    to 2^(k+1) when x >= 1.5*2^k (nearest on a linear scale, ties up); an exponent
    that rounds past 2^127 gives 0xff."""
    x = exact(xbits & 0x7FFFFFFF)
    if x is None:
        return 0xFF
    if x == 0:
        return 0
    k = 0
    while Fraction(2) ** (k + 1) <= x:
        k += 1
    while Fraction(2) ** k > x:
        k -= 1
    # float32 subnormals (x < 2^-126): PyTorch rounds on the raw mantissa field with
    # an implied bit of 0, so everything above 2^-127 goes up to 2^-126 and the rest
    # (zero included) to 2^-127.
    if k < -126:
        return 1 if x > Fraction(2) ** -127 else 0
    e = k + 127
    if x >= Fraction(3, 2) * Fraction(2) ** k:
        e += 1
    return min(e, 0xFF)


def inputs():
    """float32 bit patterns to encode."""
    xs = set()
    specials = [0.0, 1.0, 1.5, 2.0, 0.1, 1 / 3, 65504.0, 65519.0, 65520.0, 65536.0, 448.0, 464.0, 465.0,
                479.0, 480.0, 57344.0, 61440.0, 61439.0, 240.0, 248.0, 256.0, 3.4028234663852886e38,
                2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 2.0 ** -26, 2.0 ** -133, 2.0 ** -149, 2.0 ** -126,
                2.0 ** -127, 2.0 ** 127, 1.5 * 2.0 ** 127, 2.0 ** -6, 2.0 ** -9, 2.0 ** -10, 2.0 ** -16,
                2.0 ** -17, 2.0 ** -7, 2.0 ** -8, 2.0 ** -15]
    for s in specials:
        b = bits32(s)
        for d in (-1, 0, 1):
            if 0 <= b + d < 0x7F800000:
                xs.add(b + d)
    xs.update([0x7F800000, 0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0x7FA00000, 0x00000001, 0x007FFFFF, 0x00400000,
               0x00600000, 0x00200000, 0x00400001])
    # float8: every finite value and every midpoint, +-1 ulp
    for fmt in FLOAT8:
        vals = sorted(set(v for v in fmt.values.values() if v >= 0))
        vals.append(vals[-1] + (vals[-1] - vals[-2]))
        for v in vals:
            xs.add(bits32(float(v)))
        for lo, hi in zip(vals, vals[1:]):
            mid = bits32(float((lo + hi) / 2))
            xs.update([mid - 1, mid, mid + 1])
    # float16/bfloat16: subnormal range and near the top fully, elsewhere a sample of ties
    rnd = random.Random(20261128)
    h = [bits32(float(np.frombuffer(struct.pack("<H", i), "<f2")[0])) for i in range(0x7C00)]
    for i in list(range(0, 0x0410)) + list(range(0x7B00, 0x7BFF)) + rnd.sample(range(0x0410, 0x7B00), 800):
        lo, hi = exact(h[i]), exact(h[i + 1])
        mid = bits32(float((lo + hi) / 2))
        xs.update([mid - 1, mid, mid + 1])
    for i in rnd.sample(range(0, 0x7F80), 600):  # bfloat16 ties (values of the form xxxx8000)
        b = (i << 16) | 0x8000
        xs.update([b - 1, b, b + 1])
    for _ in range(1000):
        xs.add(rnd.getrandbits(31))
    out = []
    for b in sorted(xs):
        out.extend([b, b | 0x80000000])
    return out


def torch_encode(xbits, dtype):
    a = np.array(xbits, dtype="<u4").view("<f4")
    t = torch.from_numpy(a.copy()).to(dtype)
    return t.view(torch.int16).numpy().astype("<u2").tolist()


def main():
    xs = inputs()
    f16_all = np.arange(1 << 16, dtype="<u2")
    f16_dec = torch.from_numpy(f16_all.view("<i2").copy()).view(torch.float16).float()
    bf_sample = np.array(sorted(random.Random(7).sample(range(1 << 16), 4096)), dtype="<u2")
    bf_dec = torch.from_numpy(bf_sample.view("<i2").copy()).view(torch.bfloat16).float()
    doc = {
        "torch_version": torch.__version__,
        "inputs": xs,
        "float16_decode_all": f16_dec.view(torch.int32).numpy().view("<u4").tolist(),
        "bfloat16_decode_inputs": bf_sample.tolist(),
        "bfloat16_decode": bf_dec.view(torch.int32).numpy().view("<u4").tolist(),
        "float16_encode": torch_encode(xs, torch.float16),
        "bfloat16_encode": torch_encode(xs, torch.bfloat16),
    }
    for fmt in FLOAT8:
        doc[fmt.name + "_decode"] = [fmt.decode_f32(b) for b in range(256)]
        doc[fmt.name + "_encode"] = [fmt.encode(x) for x in xs]
    doc["float8_e8m0fnu_decode"] = [e8m0_decode(b) for b in range(256)]
    doc["float8_e8m0fnu_encode"] = [e8m0_encode(x) for x in xs]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    raw = json.dumps(doc, separators=(",", ":")).encode()
    with open(OUT, "wb") as f:
        f.write(gzip.compress(raw, 9, mtime=0))
    print("wrote", OUT, len(xs), "inputs")


if __name__ == "__main__":
    main()
