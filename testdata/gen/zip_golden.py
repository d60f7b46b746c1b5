#!/usr/bin/python3
"""Write testdata/zip/: zip archives made by PyTorch 1.13 and by CPython's zipfile,
with manifest.json describing them. The truth for pth's internal/zipfile.

    /usr/bin/python3 testdata/gen/zip_golden.py

- writer_*.zip: torch._C.PyTorchFileWriter (caffe2's PyTorchStreamWriter) writing the
  records listed in the manifest, then write_end_of_file() (which adds "version").
  The Go writer must produce the same bytes. Record contents are
  bytes((i * 7 + size) % 256 for i in range(size)), which the Go test regenerates.
  A writer given a file name takes the archive folder from its base name minus the
  extension ("model.pt" -> "model/"); given a buffer it uses "archive/".
- torch_save.pt: torch.save of a small state_dict; torchscript.pt: torch.jit.save of a
  small scripted module (its code records are deflated).
- py_zip64.zip (zip64 extra fields forced on every entry), py_stream.zip (deflated,
  data descriptors, written to an unseekable stream): ordinary zips from CPython.

corpus/ holds picklescan's zip fixtures (crafted: local/central name mismatch, bad
CRC, encryption flag set, npz files); they are described like the others.

For every archive the manifest records, as CPython's zipfile reads them, each entry's
name and local-header name, method, sizes, CRC, whether CPython reads it back
("ok", "crc" for a checksum error, "encrypted"), local header offset and data offset (from the local header:
30 + name length + local extra length), and whether the archive has a zip64 end record.
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "zip")


def content(size):
    return bytes((i * 7 + size) % 256 for i in range(size))


def torch_writer(path_or_none, records):
    if path_or_none is None:
        buf = io.BytesIO()
        w = torch._C.PyTorchFileWriter(buf)
    else:
        w = torch._C.PyTorchFileWriter(path_or_none)
    for name, size in records:
        w.write_record(name, content(size), size)
    w.write_end_of_file()
    del w
    if path_or_none is None:
        return buf.getvalue()
    with open(path_or_none, "rb") as f:
        return f.read()


def describe(data):
    zf = zipfile.ZipFile(io.BytesIO(data))
    entries = []
    for zi in zf.infolist():
        h = zi.header_offset
        sig, = struct.unpack_from("<I", data, h)
        assert sig == 0x04034B50
        nlen, xlen = struct.unpack_from("<HH", data, h + 26)
        local_name = data[h + 30:h + 30 + nlen].decode("utf-8", "replace")
        if zi.flag_bits & 1:
            check = "encrypted"
        else:
            try:
                with zf.open(zi) as f:
                    f.read()
                check = "ok"
            except zipfile.BadZipFile as e:
                check = "crc" if "CRC" in str(e) else "bad: " + str(e)
            except NotImplementedError as e:
                check = "unsupported: " + str(e)
        raw = data[h + 30 + nlen + xlen:h + 30 + nlen + xlen + zi.compress_size]
        entries.append({
            "local_name": local_name, "check": check,
            # stored bytes whose CRC-32 matches, whatever the flags say (PyTorch's miniz
            # loads flagged-encrypted stored records: CVE-2025-1945)
            "raw_crc_ok": zi.compress_type == 0 and zi.compress_size == zi.file_size and zlib.crc32(raw) == zi.CRC,
            "name": zi.filename, "method": zi.compress_type, "compressed_size": zi.compress_size,
            "size": zi.file_size, "crc32": zi.CRC, "header_offset": h, "data_offset": h + 30 + nlen + xlen,
            "flags": zi.flag_bits,
        })
    return {"entries": entries, "zip64_end": data.rfind(b"PK\x06\x06") >= 0}


class Unseekable(io.RawIOBase):
    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript's code text orders some attributes by hash: make it repeatable
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    os.makedirs(OUT, exist_ok=True)
    manifest = {"torch_version": torch.__version__, "archives": {}}

    def add(fname, data, extra=None):
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        d = describe(data)
        if extra:
            d.update(extra)
        manifest["archives"][fname] = d

    small = [("data.pkl", 20), ("empty", 0), ("one", 1), ("b63", 63), ("b64", 64), ("b65", 65),
             ("data/0", 1000), ("empty2", 0), (".data/x", 3)]
    add("writer_small.zip", torch_writer(None, small), {"archive_name": "archive", "records": small})
    many = [("data/%d" % i, (i * 13) % 300) for i in range(150)]
    tmp = os.path.join(OUT, "model.pt")
    add("writer_many.zip", torch_writer(tmp, many), {"archive_name": "model", "records": many})
    os.remove(tmp)
    longname = [("d/" + "n" * 200, 5), ("x", 4096)]
    add("writer_long.zip", torch_writer(None, longname), {"archive_name": "archive", "records": longname})
    add("writer_empty.zip", torch_writer(None, []), {"archive_name": "archive", "records": []})

    buf = io.BytesIO()
    torch.manual_seed(0)
    sd = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(3, dtype=torch.int64)}
    torch.save(sd, buf)
    add("torch_save.pt", buf.getvalue())

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            y = self.lin(x)
            for i in range(3):
                y = torch.relu(y) + float(i) * 0.5 - torch.tanh(y) * 0.25
            if y.sum() > 0:
                y = y * 2.0
            return y

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(M()), buf)
    add("torchscript.pt", buf.getvalue())

    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, size in [("z64/a", 10), ("z64/b", 0), ("z64/c", 300)]:
            with zf.open(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
                f.write(content(size))
    add("py_zip64.zip", b.getvalue())

    u = Unseekable()
    with zipfile.ZipFile(u, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, size in [("s/a", 500), ("s/b", 1), ("s/c", 0)]:
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, content(size))
    add("py_stream.zip", bytes(u.buf))

    # picklescan's zip fixtures (copied from shared/corpus/picklescan, MIT): as CPython reads them
    corpus = os.path.join(OUT, "corpus")
    manifest["corpus"] = {}
    for fname in sorted(os.listdir(corpus)):
        if fname.startswith("LICENSE"):
            continue
        with open(os.path.join(corpus, fname), "rb") as f:
            manifest["corpus"][fname] = describe(f.read())

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
