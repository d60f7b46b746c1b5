#!/usr/bin/env python3
"""Adversarial fixtures for `pth scan` (scan/adversarial_test.go).

Stdlib only (pickle, pickletools, zipfile, tarfile, gzip, zlib). Run from the
repository root:

    /usr/bin/python3 testdata/gen/scan_adversarial.py

(any Python 3 works; with Debian's python3-joblib and numpy importable, the
hand-written joblib layout is also checked against joblib.load). It writes testdata/scan/*.{pkl,pt,...} and testdata/scan/expected.json. The
truth recorded for each file comes from CPython, not from pth:
  * the dangerous globals of a payload are the names CPython's own pickletools
    disassembler finds in the payload pickle (GLOBAL/INST args, STACK_GLOBAL
    operands), so a scanner that misses one is wrong;
  * a file expected "safe" is checked to load with pickle.loads here (its
    payload-free pickles run in CPython and name only allow-listed globals);
  * a file expected "error" is one CPython's unpickler refuses (checked here,
    where the trick is a pickle) or a container attack (bomb, overlap, nesting)
    whose bound the scanner must enforce.
Nothing malicious is ever unpickled: payload pickles are only disassembled.
"""
import gzip
import io
import json
import lzma
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import tarfile
import zipfile
import zlib

OUT = os.path.join("testdata", "scan")
os.makedirs(OUT, exist_ok=True)
expected = []


def payload(cmd="echo pwned", proto=2, module="os", name="system"):
    """A pickle calling module.name(cmd), written by hand so that nothing runs."""
    if proto == 0:
        return b"c%s\n%s\n(V%s\ntR." % (module.encode(), name.encode(), cmd.encode())
    body = b"c%s\n%s\nX%s%sR." % (module.encode(), name.encode(),
                                    struct.pack("<I", len(cmd)), cmd.encode())
    body = body[:-2] + b"\x85R."  # TUPLE1 REDUCE STOP
    if proto >= 4:
        # STACK_GLOBAL with memoized operands.
        m, n = module.encode(), name.encode()
        body = (b"\x8c" + bytes([len(m)]) + m + b"\x94" + b"\x8c" + bytes([len(n)]) + n + b"\x94\x93\x94"
                + b"X" + struct.pack("<I", len(cmd)) + cmd.encode() + b"\x85R.")
        body = b"\x95" + struct.pack("<Q", len(body)) + body
    return bytes([0x80, proto]) + body


def globals_of(data):
    """The globals CPython's pickletools sees in one pickle (the independent truth)."""
    names, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            names.append(arg.replace(" ", "."))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            names.append(strings[-2] + "." + strings[-1])
    return names


def safe_pickle(obj, proto=2):
    data = pickle.dumps(obj, protocol=proto)
    assert pickle.loads(data) == obj
    return data


def write(name, data, verdict, dangerous=(), note="", options=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    e = {"file": name, "verdict": verdict, "dangerous": sorted(set(dangerous)), "note": note}
    if options:
        e["options"] = options
    expected.append(e)


def zip_bytes(records, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for n, d in records:
            info = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = compression
            z.writestr(info, d)
    return buf.getvalue()


P = payload()
PG = globals_of(P)
assert PG == ["os.system"], PG
STATE = safe_pickle({"weight": [1.0, 2.0], "step": 3})

# --- Point 1: every pickle a loader could execute -----------------------------
for proto in range(6):
    p = payload("id", proto=proto)
    write(f"raw_p{proto}.pkl", p, "dangerous", globals_of(p), f"raw pickle, protocol {proto}")
write("raw_benign_p5.pkl", safe_pickle({"a": (1, 2.5, "x", b"y")}, 5), "safe", (), "plain data, protocol 5")

write("zip_any_folder.pt", zip_bytes([("not_archive_name/data.pkl", P), ("not_archive_name/version", b"3\n")]),
      "dangerous", PG, "torch zip with an unusual top folder")
write("zip_extra_pkl.pt", zip_bytes([("archive/data.pkl", STATE), ("archive/extra/other.pkl", P)]),
      "dangerous", PG, "benign data.pkl, payload in a second .pkl record")
write("zip_txt_record.zip", zip_bytes([("archive/data.pkl", STATE), ("archive/notes.txt", P)]),
      "dangerous", PG, "payload in a record named .txt: content sniffing, not names")
write("zip_deflated_pkl.pt", zip_bytes([("archive/data.pkl", P)], zipfile.ZIP_DEFLATED),
      "dangerous", PG, "deflated data.pkl")
write("zip_benign.pt", zip_bytes([("archive/data.pkl", STATE), ("archive/data/0", b"\x00" * 64),
                                   ("archive/version", b"3\n")]), "safe", (), "benign torch-like zip")

# Central directory and local header disagree on the record's name.
z = zip_bytes([("archive/data.pkl", P)])
local = z.replace(b"archive/data.pkl", b"archive/data.txt", 1)  # first occurrence: the local header
assert local.count(b"archive/data.pkl") == 1
write("zip_local_name_mismatch.pt", local, "dangerous", PG, "local header says data.txt, central directory data.pkl")
i = z.rfind(b"archive/data.pkl")
central = z[:i] + b"archive/data.txt" + z[i + 16:]
write("zip_central_name_mismatch.pt", central, "dangerous", PG, "central directory says data.txt, local header data.pkl")
# Flag bits and CRC that strict readers refuse but PyTorch's miniz ignores.
flags = bytearray(z)
flags[6] |= 0x01  # "encrypted" local header
j = bytes(flags).rfind(b"PK\x01\x02")
flags[j + 8] |= 0x01
write("zip_encrypted_flag.pt", bytes(flags), "dangerous", PG, "encryption flag set on plain data")
crc = bytearray(z)
crc[14] ^= 0xFF
crc[j + 16] ^= 0xFF
write("zip_bad_crc.pt", bytes(crc), "dangerous", PG, "wrong CRC32")

# TorchScript archives: every pickle the C++ loader reads.
code = b"class SimpleNet(Module):\n  __parameters__ = []\n"
for rec in ("constants.pkl", "bytecode.pkl", "code/__torch__.py.debug_pkl"):
    name = "ts_" + rec.split("/")[-1].replace(".", "_") + ".pt"
    write(name, zip_bytes([("m/data.pkl", STATE), ("m/code/__torch__.py", code), ("m/" + rec, P),
                           ("m/constants.pkl", b"\x80\x02).")] if rec != "constants.pkl" else
                          [("m/data.pkl", STATE), ("m/code/__torch__.py", code), ("m/constants.pkl", P)]),
          "dangerous", PG, "TorchScript archive, payload in " + rec)

# Legacy torch.save stream: magic, protocol, sys_info, object, keys, raw storages.
MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")
PROTO = b"\x80\x02M\xe9\x03."
SYSINFO = safe_pickle({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}})
KEYS = safe_pickle([])
assert pickle.loads(MAGIC) == 0x1950a86a20f9469cfc6c and pickle.loads(PROTO) == 1001
write("legacy_benign.pt", MAGIC + PROTO + SYSINFO + STATE + KEYS + struct.pack("<q", 40) + b"(" * 160,
      "safe", (), "legacy stream; raw bytes after the key list look like opcodes but are never unpickled")
write("legacy_chance_eocd.pt", MAGIC + PROTO + SYSINFO + STATE + KEYS + struct.pack("<q", 16) + b"\x01" * 40
      + b"PK\x05\x06" + bytes(range(7, 25)) + b"\x02" * 30, "safe", (),
      "storage bytes that happen to hold a zip end-record signature: not a polyglot")
write("legacy_object_payload.pt", MAGIC + PROTO + SYSINFO + P + KEYS, "dangerous", PG, "payload as the object pickle")
write("legacy_sysinfo_payload.pt", MAGIC + PROTO + P + STATE + KEYS, "dangerous", PG, "payload as the sys_info pickle")
write("legacy_keys_payload.pt", MAGIC + PROTO + SYSINFO + STATE + P, "dangerous", PG, "payload as the storage-key pickle")


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for n, d in members:
            info = tarfile.TarInfo(n)
            info.size = len(d)
            info.mtime = 0
            t.addfile(info, io.BytesIO(d))
    return buf.getvalue()


# ≤0.3 tar: storages = pickle(n), n × [pickle((key, location, cls)), int64 numel, data], pickle(views).
float_storage = b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\nt."
assert globals_of(float_storage) == ["torch.FloatStorage"]
storages = safe_pickle(1) + float_storage + struct.pack("<q", 3) + struct.pack("<3f", 1, 2, 3) + safe_pickle([])
tensors = safe_pickle(0)
SYS0 = safe_pickle({"protocol_version": 1000, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}})
write("tar_benign.tar", tar_bytes([("sys_info", SYS0), ("pickle", STATE), ("tensors", tensors), ("storages", storages)]),
      "safe", (), "legacy tar layout with one float storage")
write("tar_payload.tar", tar_bytes([("sys_info", SYS0), ("pickle", P), ("tensors", tensors), ("storages", storages)]),
      "dangerous", PG, "payload in the tar's pickle member")
bad_storages = safe_pickle(1) + payload("id") + struct.pack("<q", 0) + safe_pickle([])
write("tar_storage_payload.tar", tar_bytes([("sys_info", SYS0), ("pickle", STATE), ("storages", bad_storages)]),
      "dangerous", ["os.system"], "payload as a storage header inside the storages member")

# numpy: object arrays carry a pickle after the header.
def npy(descr, body):
    header = "{'descr': %s, 'fortran_order': False, 'shape': (1,), }" % descr
    header = header.encode() + b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body
write("npy_object_payload.npy", npy("'|O'", P), "dangerous", PG, "object-dtype npy")
write("npy_float.npy", npy("'<f8'", struct.pack("<d", 1.5)), "safe", (), "numeric npy: no pickle")
write("npz_object_payload.npz", zip_bytes([("a.npy", npy("'<f8'", b"\0" * 8)), ("b.npy", npy("'|O'", P))], zipfile.ZIP_DEFLATED),
      "dangerous", PG, "npz with an object member")

# joblib-style compressed pickles.
write("joblib_zlib.pkl", zlib.compress(P), "dangerous", PG, "zlib-compressed pickle (joblib compress=True)")
write("joblib_gzip.pkl.gz", gzip.compress(P, mtime=0), "dangerous", PG, "gzip-compressed pickle")



def joblib_like(object_pickle, compress=False):
    """joblib.dump's layout written by hand (joblib/numpy_pickle.py): a dict whose
    'w' is a NumpyArrayWrapper for a float32 (2, 3) array, its raw bytes inline
    after the wrapper's BUILD (one padding-length byte, padding to 16, data), and
    whose 'o' is an object array: a wrapper followed by a nested pickle."""
    def su(s):
        return b"X" + struct.pack("<I", len(s)) + s.encode()

    def wrapper(shape, descr, align):
        w = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" + su("subclass") + b"cnumpy\nndarray\n"
        w += su("shape") + b"(" + b"".join(b"K" + bytes([d]) for d in shape) + b"t" + su("order") + su("C")
        w += su("dtype") + b"cnumpy\ndtype\n(" + su(descr) + b"\x89\x88tR(K\x03" + su("<" if descr != "O8" else "|")
        flags = b"K\x3f" if descr == "O8" else b"K\x00"  # numpy's flags: 63 = object dtype
        w += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + flags + b"tb" + su("allow_mmap") + b"\x88"
        if align:
            w += su("numpy_array_alignment_bytes") + b"K\x10"
        return w + b"ub"

    out = bytearray(b"\x80\x02}(" + su("w") + wrapper((2, 3), "f4", True))
    pad = 16 - ((len(out) + 1) % 16)
    out += bytes([pad]) + b"\xff" * pad + struct.pack("<6f", 0, 1, 2, 3, 4, 5)
    out += su("o") + wrapper((3,), "O8", False) + object_pickle
    out += su("n") + b"K\x03u."
    return zlib.compress(bytes(out)) if compress else bytes(out)


# numpy's pickle of np.array([1, 'a', None], dtype=object), protocol 2, by hand.
OBJ_ARRAY = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85c_codecs\nencode\n"
             b"X\x01\x00\x00\x00bX\x06\x00\x00\x00latin1\x86R\x87R(K\x01K\x03\x85cnumpy\ndtype\n"
             b"X\x02\x00\x00\x00O8\x89\x88\x87R(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
             b"\x89](K\x01X\x01\x00\x00\x00aNetb.")
jl_benign = joblib_like(OBJ_ARRAY)
jl_evil = joblib_like(P)
try:
    import joblib  # Debian's python3-joblib, for /usr/bin/python3: the real loader is the truth
    import numpy
    tmp = os.path.join(OUT, "joblib_benign.pkl")
    with open(tmp, "wb") as f:
        f.write(jl_benign)
    got = joblib.load(tmp)
    assert got["n"] == 3 and list(got["o"]) == [1, "a", None] and got["o"].dtype == object, got
    assert (got["w"] == numpy.arange(6, dtype=numpy.float32).reshape(2, 3)).all(), got
    print("joblib.load agrees with the hand-written joblib layout")
except ImportError:
    print("joblib not importable: joblib fixtures not cross-checked (run with /usr/bin/python3)")
write("joblib_benign.pkl", jl_benign, "safe", (), "joblib layout: inline raw float32 array, object array as a nested pickle")
write("joblib_object_payload.pkl", jl_evil, "dangerous", PG, "joblib object array whose nested pickle is the payload")
write("joblib_zlib_inline.pkl", joblib_like(P, compress=True), "dangerous", PG, "zlib-compressed joblib with inline arrays")

# 7z: LZMA2 streams from CPython's lzma (liblzma), in a 7z container written
# by hand; when the 7z program is installed (Debian p7zip-full) it must extract
# the payload from it, which checks the container.
def num7z(v):
    for n in range(8):
        if v < 1 << (7 * (n + 1)):
            return bytes([(0xFF00 >> n) & 0xFF | v >> (8 * n)]) + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")
    return b"\xff" + v.to_bytes(8, "little")


def sevenz(name, data, filters, coder=b"\x21\x21"):
    """A 7z archive of one file in one LZMA2 folder (coder: flags byte, id)."""
    packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)
    props = lzma._encode_filter_properties(filters[0])
    names = name.encode("utf-16-le") + b"\0\0"
    hdr = (b"\x01\x04"  # Header, MainStreamsInfo
           + b"\x06" + num7z(0) + num7z(1) + b"\x09" + num7z(len(packed)) + b"\x00"  # PackInfo
           + b"\x07\x0b" + num7z(1) + b"\x00" + num7z(1)  # UnPackInfo, Folder: 1 folder, 1 coder
           + coder + num7z(len(props)) + props  # coder with its properties
           + b"\x0c" + num7z(len(data)) + b"\x00"  # unpack size
           + b"\x00"  # end of MainStreamsInfo
           + b"\x05" + num7z(1) + b"\x11" + num7z(1 + len(names)) + b"\x00" + names + b"\x00"  # FilesInfo: names
           + b"\x00")
    start = struct.pack("<QQI", len(packed), len(hdr), zlib.crc32(hdr))
    out = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start + packed + hdr
    if shutil.which("7z"):
        tmp = os.path.join(OUT, "_check.7z")
        with open(tmp, "wb") as f:
            f.write(out)
        res = subprocess.run(["7z", "x", "-so", tmp], capture_output=True)
        assert res.returncode == 0, res.stderr + res.stdout[-300:]
        got = res.stdout
        os.remove(tmp)
        assert got == data, "7z extracts something else"
    return out


text = b"".join(b"line %d: the quick brown fox jumps over the lazy dog %d times\n" % (i, i * i % 97) for i in range(600))
x, noise = 12345, bytearray()
for _ in range(6000):  # incompressible bytes, so that LZMA2 also writes stored chunks
    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    noise.append(x >> 16 & 0xFF)
golden = text + bytes(noise) + text[:5000]
for tag, filt in (("default", [{"id": lzma.FILTER_LZMA2, "preset": 6}]),
                  ("lc0_lp2_pb0", [{"id": lzma.FILTER_LZMA2, "preset": 6, "lc": 0, "lp": 2, "pb": 0, "dict_size": 1 << 16}])):
    raw = lzma.compress(golden, format=lzma.FORMAT_RAW, filters=filt)
    assert lzma.decompress(raw, format=lzma.FORMAT_RAW, filters=filt) == golden
    with open(os.path.join(OUT, "lzma2_%s.lzma2" % tag), "wb") as f:
        f.write(raw)
with open(os.path.join(OUT, "lzma2_golden.bin"), "wb") as f:
    f.write(golden)
LZ2 = [{"id": lzma.FILTER_LZMA2, "preset": 6}]
write("sevenzip_lzma2_payload.7z", sevenz("model.pkl", P + text[:300], LZ2), "dangerous", PG, "payload in an LZMA2-compressed 7z")
write("sevenzip_lzma2_benign.7z", sevenz("state.pkl", STATE, LZ2), "safe", (), "benign pickle in an LZMA2-compressed 7z")
write("sevenzip_lzma1.7z", sevenz("model.pkl", P, [{"id": lzma.FILTER_LZMA1, "preset": 6}], b"\x23\x03\x01\x01"),
      "error", (), "7z with the LZMA (not LZMA2) coder: not decoded, so not judged safe")

# Several pickles, polyglots, nesting.
write("concat_payload_second.pkl", STATE + P, "dangerous", PG, "a benign pickle, then the payload")
write("concat_three.pkl", STATE + STATE + P, "dangerous", PG, "payload in the third pickle")
write("polyglot_pickle_then_zip.pt", P + zip_bytes([("archive/data.pkl", STATE)]), "dangerous", PG,
      "payload pickle at the start, a benign torch zip after it")
write("polyglot_zip_payload.pt", STATE + zip_bytes([("archive/data.pkl", P)]), "dangerous", PG,
      "benign pickle at the start, payload in the zip at the end")
# A safetensors file that is also a pickle. Its 8-byte header length starts with
# 0x58, 'X' (BINUNICODE), whose 4-byte length (the next bytes of the header
# length) ends the string inside a JSON string of the header; from there
# SHORT_BINSTRING ops ('U' + a printable length) hop over the rest of the header,
# the last one swallowing its closing '"}}'; the one tensor's data is the payload.
K = len(P)
L = 100  # BINUNICODE length: the pickle resumes at file offset 5 + L
n = (L << 8) | 0x58
prefix = '{"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]},"__metadata__":{"x":"' % (K, K)
pos = L + 5 - 8  # header offset where the pickle resumes
assert pos > len(prefix)
body = bytearray(prefix.encode() + b"a" * (pos - len(prefix)))
ok_len = set(range(0x20, 0x7F)) - {0x22, 0x5C}  # printable, and legal inside a JSON string
while n - len(body) - 2 > 0x7E:  # hop: 'U', length, that many filler bytes
    step = min(0x7E, n - len(body) - 2 - 0x40)
    while step not in ok_len or (n - len(body) - 2 - step - 2) not in ok_len | set(range(0x7F, 1 << 20)):
        step -= 1
    body += b"U" + bytes([step]) + b"b" * step
last = n - len(body) - 2  # the last hop swallows the header's closing '"}}'
assert last in ok_len
body += b"U" + bytes([last]) + b"c" * (last - 3) + b'"}}'
hdr = bytes(body)
assert len(hdr) == n and json.loads(hdr)["t"]["data_offsets"] == [0, K]
st_poly = struct.pack("<Q", n) + hdr + P
assert globals_of(st_poly) == PG  # CPython's disassembler reads the file as a pickle reaching os.system
write("safetensors_pickle_polyglot.safetensors", st_poly, "dangerous", PG,
      "valid safetensors layout that torch.load(weights_only=False) would unpickle")
st_plain = b'{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
write("safetensors_plain.safetensors", struct.pack("<Q", len(st_plain)) + st_plain + b"\0\0\x80?", "safe", (),
      "safetensors: no pickle, cannot run code")
inner = zip_bytes([("archive/data.pkl", P)])
write("nested_zip.zip", zip_bytes([("outer/model.pt", inner)]), "dangerous", PG, "a torch zip inside a zip")
big_inner = zip_bytes([("archive/data.pkl", P), ("archive/data/0", b"\0" * (300 << 10))])
write("nested_stored_zip_in_place.zip", zip_bytes([("models/big.pt", big_inner)]), "dangerous", PG,
      "a stored 300 KiB torch zip inside a zip, scanned with a 64 KiB buffer budget: read in place, not copied",
      {"max_buffered": 64 << 10})
deep = zip_bytes([("archive/data.pkl", STATE)])
for k in range(8):
    deep = zip_bytes([("level%d.zip" % k, deep)])
write("nested_too_deep.zip", deep, "error", (), "zips nested 9 deep: beyond the scanner's nesting bound")

# Symbolic-execution tricks.
discard = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R0N."
assert globals_of(discard) == ["posix.system"]
write("discarded_call.pkl", discard, "dangerous", ["posix.system"], "os.system result POPped, then None returned")
ext = b"\x80\x02\x82\x01X\x02\x00\x00\x00id\x85R."
write("ext_code.pkl", ext, "unknown", [], "EXT1 code: a global only the loader's copyreg registry names (none by default)")
build_module = b"\x80\x02ctorch\n_utils\n}X\x0f\x00\x00\x00_rebuild_tensorcbuiltins\neval\nsb."
write("build_on_module.pkl", build_module, "dangerous", ["builtins.eval", "torch._utils"],
      "BUILD on a module replaces its functions")
computed = b"\x80\x04\x8c\x02os\x8c\x06system\x86\x94h\x00\x93."  # STACK_GLOBAL over a tuple: not constant strings
write("stack_global_computed.pkl", computed, "dangerous", [], "STACK_GLOBAL operands that are not constant strings")
write("getattr_chain.pkl",
      b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x86RX\x02\x00\x00\x00id\x85R.",
      "dangerous", ["builtins.getattr", "builtins.__import__"], "getattr(__import__('os'), 'system')('id')")
dunder = b"\x80\x04\x8c\x08builtins\x8c\x15object.__subclasses__\x93)R."
assert globals_of(dunder) == ["builtins.object.__subclasses__"]
write("dunder_traversal.pkl", dunder,
      "dangerous", ["builtins.object.__subclasses__"], "introspection through a dotted dunder name")
inner_p = payload("id")
nested_p = b"\x80\x03c_pickle\nloads\nC" + bytes([len(inner_p)]) + inner_p + b"\x85R."
assert globals_of(nested_p) == ["_pickle.loads"] and globals_of(inner_p) == ["os.system"]
write("nested_pickle_loads.pkl", nested_p, "dangerous", ["_pickle.loads", "os.system"],
      "_pickle.loads of a literal payload: the inner pickle is scanned too")
write("unknown_class.pkl", b"\x80\x02c__main__\nSimpleNet\n)\x81}b.", "unknown", [], "a user class: unknown, not dangerous")

# --- Point 5: hostile inputs end in a typed error, within bounds ---------------
# Billion laughs: 40 levels of lists holding the previous level twice via the memo.
laughs = bytearray(b"\x80\x02X\x03\x00\x00\x00lolq\x00")
for k in range(1, 41):
    laughs += b"](h" + bytes([k - 1]) + b"h" + bytes([k - 1]) + b"eq" + bytes([k])
laughs += b"."
lol = pickle.loads(bytes(laughs))  # CPython builds it with shared references, instantly
assert lol[0] is lol[1]
write("billion_laughs.pkl", bytes(laughs), "safe", (), "2^40 logical elements through shared memo references")
# Rendering bomb: a wide tree of 8^6 logical leaves built once through the memo,
# then passed to a call 20000 times; reports must cost a constant per call.
rb = bytearray(b"\x80\x02](" + b"K\x01" * 8 + b"eq\x00")
for k in range(1, 6):
    rb += b"](" + (b"h" + bytes([k - 1])) * 8 + b"eq" + bytes([k])
rb += b"0cbuiltins\nlist\nq\x10](" + b"h\x10h\x05\x85R" * 20000 + b"e."
assert len(pickle.loads(bytes(rb))) == 20000
write("render_bomb.pkl", bytes(rb), "safe", (), "a shared wide tree as the argument of 20000 calls")
write("huge_length.pkl", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abc.", "error", (), "BINUNICODE8 declaring 2^62 bytes")
write("deep_marks.pkl", b"\x80\x02" + b"(" * 200000 + b".", "error", (), "200000 nested MARKs")
write("deep_lists.pkl", b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b".", "safe", (), "100000 nested lists (flat stack)")
try:
    pickle.loads(b"\x80\x02" + b"(" * 200000 + b".")
    raise SystemExit("deep_marks loaded")
except pickle.UnpicklingError:
    pass  # CPython: "unpickling stack underflow" at STOP
write("truncated.pkl", P[:-5], "dangerous", PG, "payload cut short: the global is found before the break")
write("truncated_benign.pkl", STATE[:-3], "error", (), "benign pickle cut short")
try:
    pickle.loads(STATE[:-3])
    raise SystemExit("truncated pickle loaded")
except pickle.UnpicklingError:
    pass
except EOFError:
    pass
try:
    pickle.loads(b".")
    raise SystemExit("empty pickle loaded")
except pickle.UnpicklingError:
    pass  # "unpickling stack underflow"
write("empty_stop.pkl", b".", "error", (), "STOP on an empty stack")
write("memo_miss.pkl", b"\x80\x02h\x05.", "error", (), "GET of a memo key never stored")
# Zip bomb: a deflated record inflating to 8 MiB, scanned with a 1 MiB budget.
inner_big = zip_bytes([("archive/data.pkl", STATE), ("archive/blob.bin", b"\0" * (8 << 20))])
write("zip_bomb.zip", zip_bytes([("bomb/inner.zip", inner_big)], zipfile.ZIP_DEFLATED), "error", (),
      "nested zip inflating beyond the buffer budget", {"max_buffered": 1 << 20})
write("gzip_bomb.pt.gz", gzip.compress(inner_big, mtime=0), "error", (),
      "gzip stream inflating beyond the buffer budget", {"max_buffered": 1 << 20})
# Out-of-range and overlapping records.
oor = bytearray(z)
k = bytes(oor).rfind(b"PK\x01\x02")
struct.pack_into("<I", oor, k + 42, 0x7FFFFF00)  # local header offset far past the end
write("zip_out_of_range.pt", bytes(oor), "error", (), "central directory points past the end of the file")
two = zip_bytes([("archive/data.pkl", STATE), ("archive/other.pkl", STATE)])
k1 = two.find(b"PK\x01\x02")
k2 = two.find(b"PK\x01\x02", k1 + 4)
ov = bytearray(two)
struct.pack_into("<I", ov, k2 + 42, struct.unpack_from("<I", two, k1 + 42)[0])
write("zip_overlap.pt", bytes(ov), "error", (), "two central-directory records share one local record")
write("not_a_model.txt", b"hello, this is text\n", "error", (), "text file")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print(len(expected), "fixtures")
