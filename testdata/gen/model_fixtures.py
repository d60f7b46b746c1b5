#!/usr/bin/python3
"""Entire-model and TorchScript fixtures for pth's modtree/ and torchscript/ tests.

Run with Debian's python3-torch (1.13) + torchvision (0.14), or PyTorch 2.x (below):

    /usr/bin/python3 testdata/gen/model_fixtures.py            # small fixtures -> testdata/models/
    /usr/bin/python3 testdata/gen/model_fixtures.py --large    # resnet18, mobilenet_v3_small only
                                                               #   -> testdata/fixtures/large/models/ (git-ignored)

For every model it writes the entire model with torch.save (zip and legacy stream) and
the TorchScript archive (torch.jit.script and torch.jit.trace), and records in
manifest.json what PyTorch itself says about them: each file's state_dict (keys in order,
dtype, shape, sha256 of the contiguous little-endian bytes, and `_metadata`) and the module
tree (class path, training flag, hyper-parameters, parameter and buffer names, children).
The Go tests compare pth's reading of the files against these records.

With PyTorch 2.x (Debian trixie's 2.6: testdata/gen/torch2_chroot.sh builds that root
and runs this) the same small set goes to testdata/models/torch2/ with its own manifest
(--large is 1.13 only); its entire-model pickles have 2.x's plain-dict layout of
`_parameters`/`_buffers`/`_modules`. Generation runs with PYTHONHASHSEED=0 (TorchScript
writes Final constants in set order) and, under 2.x, keeps a committed file when the
new one says the same thing (2.x writes a fresh .data/serialization_id every time).

The script also serves the Go tests as an oracle (sub-commands, reading JSON arguments):

    model_fixtures.py check-extract MODEL ORIGINAL EXTRACTED [MODEL ORIGINAL EXTRACTED ...]
        for each triple, rebuilds MODEL's architecture from this script's own class code, loads EXTRACTED
        with torch.load(weights_only=True) and load_state_dict(strict=True), and checks that
        it gives the same outputs as ORIGINAL (the entire-model file) on a fixed input.
    model_fixtures.py run-script ARCHIVE
        torch.jit.load(ARCHIVE) (no Python classes are needed), reads {"shape":[...],
        "data":[...]} inputs from stdin (a JSON list), runs forward and prints the output
        as {"shape":[...], "data":[...]}.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# torch 2.x writes its own set next to 1.13's (torch.load defaults to weights_only=True
# in 2.6, so every load of an entire model here says weights_only=False).
TORCH2 = int(torch.__version__.split(".")[0]) >= 2
SMALL_DIR = os.path.join(ROOT, "testdata", "models", *(["torch2"] if TORCH2 else []))
LARGE_DIR = os.path.join(ROOT, "testdata", "fixtures", "large", "models")


class SimpleNet(nn.Module):
    """The seed's SimpleNet: Linear(10,5), ReLU, Linear(5,2)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class ConvBN(nn.Module):
    """A small Conv/BN model with a persistent and a non-persistent buffer, in eval mode."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(4),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.head = nn.Linear(4, 3)
        self.register_buffer("offset", torch.arange(3, dtype=torch.float32))
        self.register_buffer("scratch", torch.ones(2, dtype=torch.int64), persistent=False)

    def forward(self, x):
        x = self.features(x)
        x = self.flatten(self.pool(x))
        return self.head(x) + self.offset


class ConstNet(nn.Module):
    """Traced, its literal tensor becomes a TorchScript constant (constants.pkl, constants/0)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x) + torch.tensor([1.5, -2.0])


def save_kept(path, write):
    """Calls write(p) to write the file at path, atomically; with torch 2.x keeps an equivalent existing file.

    The file is written under its own name in a fresh temporary directory next to path
    (torch.save and torch.jit.save name the archive's folder after the file) and renamed
    into place, so a reader, or a second generator run at the same time, never sees a
    partly written file.

    torch 2.x puts a fresh .data/serialization_id in every zip and TorchScript archive, and
    the legacy stream's storage keys are memory addresses: an existing file is kept when its
    zip records other than .data/serialization_id are byte-identical to the new file's, or
    (legacy) when torch.load reads an equal object from both (roundtrip_check.compare), so
    regenerating does not rewrite committed files that say the same thing.
    """
    d = tempfile.mkdtemp(prefix=".new-", dir=os.path.dirname(path))
    try:
        new = os.path.join(d, os.path.basename(path))
        write(new)
        if TORCH2 and os.path.exists(path) and _same_file(path, new):
            os.remove(new)
        else:
            os.replace(new, path)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def write_json(path, obj):
    """Writes obj as indented JSON and a newline to path, atomically (temporary file, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".new-", suffix=".json", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def _same_file(old, new):
    import zipfile

    if zipfile.is_zipfile(old) and zipfile.is_zipfile(new):
        def records(p):
            with zipfile.ZipFile(p) as z:
                # the folder is named after the file, the same for both
                return [(i.filename.split("/", 1)[-1], z.read(i)) for i in z.infolist()
                        if not i.filename.endswith("/.data/serialization_id")]

        # names relative to the archive's folder: old and new differ only in where they lie
        return records(old) == records(new)
    if zipfile.is_zipfile(old) or zipfile.is_zipfile(new):
        return False
    sys.path.insert(0, HERE)
    import roundtrip_check

    try:
        return roundtrip_check.compare(torch.load(old, weights_only=False),
                                       torch.load(new, weights_only=False)) is None
    except Exception:
        return False


def write_constants(out_dir):
    """A traced archive with tensors in constants.pkl, and their records in constants.json."""
    torch.manual_seed(0)
    m = ConstNet().eval()
    sm = torch.jit.trace(m, (torch.randn(1, 2),), check_trace=False)
    p = os.path.join(out_dir, "constnet_trace.pt")
    save_kept(p, lambda f: torch.jit.save(sm, f))
    consts = [c for c in torch.jit.load(p).code_with_constants[1].const_mapping.values()]
    rec = {
        "file": os.path.basename(p),
        "constants": [tensor_record("c%d" % i, c) for i, c in enumerate(consts)],
        "state_dict": state_dict_record(torch.jit.load(p).state_dict()),
    }
    write_json(os.path.join(out_dir, "constants.json"), rec)


class Typed(nn.Module):
    """Scripted, its attributes become typed slots: lists go through
    torch.jit._pickle.build_intlist / build_doublelist, dicts through restore_type_tag."""

    def __init__(self):
        super().__init__()
        self.sizes = [3, 1, 4]
        self.scales = [0.5, 2.0]
        self.table = {"a": 1, "b": 2}
        self.label = "typed"
        self.flag = True
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(x) * self.sizes[0] * self.scales[0] + self.table["a"]


def write_typed(out_dir):
    """A scripted archive with typed container attributes, and torch's view of them."""
    torch.manual_seed(0)  # fc's weights: the same file every run
    m = Typed().eval()
    p = os.path.join(out_dir, "typed_script.pt")
    save_kept(p, lambda f: torch.jit.save(torch.jit.script(m), f))
    loaded = torch.jit.load(p)
    attrs = {k: getattr(loaded, k) for k in ("sizes", "scales", "table", "label", "flag")}
    write_json(os.path.join(out_dir, "typed.json"),
               {"file": os.path.basename(p), "attrs": attrs,
                "state_dict": state_dict_record(loaded.state_dict())})


def build(name):
    """Builds a model deterministically (same seed, same weights every run)."""
    torch.manual_seed(0)
    if name == "simplenet":
        m, x = SimpleNet(), torch.randn(2, 10)
    elif name == "convbn":
        m = ConvBN()
        # give BatchNorm non-trivial running statistics
        with torch.no_grad():
            m.features[1].running_mean.uniform_(-0.5, 0.5)
            m.features[1].running_var.uniform_(0.5, 1.5)
            m.features[1].num_batches_tracked.fill_(7)
        m.eval()
        x = torch.randn(2, 3, 8, 8)
    elif name == "mobilenet_v3_small":
        import torchvision

        m = torchvision.models.mobilenet_v3_small(weights=None).eval()
        x = torch.randn(1, 3, 64, 64)
    elif name == "resnet18":
        import torchvision

        m = torchvision.models.resnet18(weights=None).eval()
        x = torch.randn(1, 3, 64, 64)
    else:
        raise SystemExit("unknown model " + name)
    torch.manual_seed(1)
    x = torch.randn(*x.shape)
    return m, x


def tensor_record(key, t):
    t = t.detach().contiguous()
    return {
        "key": key,
        "dtype": str(t.dtype).replace("torch.", ""),
        "shape": list(t.shape),
        "sha256": hashlib.sha256(t.numpy().tobytes()).hexdigest(),
    }


def state_dict_record(sd):
    meta = getattr(sd, "_metadata", None)
    return {
        "tensors": [tensor_record(k, v) for k, v in sd.items()],
        # a list of [prefix, {"version": n}] pairs: the order matters and JSON objects lose it
        "metadata": None if meta is None else [[k, dict(v)] for k, v in meta.items()],
    }


def jsonable(v):
    if isinstance(v, (bool, int, float, str)) or v is None:
        return True
    if isinstance(v, (tuple, list)):
        return all(jsonable(x) for x in v)
    return False


def tree_record(name, m):
    """The module tree as PyTorch holds it in memory."""
    cls = type(m)
    if isinstance(m, torch.jit.ScriptModule):
        qn = m._c._type().qualified_name()
        attrs = {}
    else:
        qn = cls.__module__ + "." + cls.__qualname__
        attrs = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in m.__dict__.items()
            if not k.startswith("_") and k != "training" and jsonable(v)
        }
    return {
        "name": name,
        "class": qn,
        "training": m.training,
        "attrs": attrs,
        "parameters": [k for k, v in m._parameters.items() if v is not None],
        "buffers": [k for k, v in m._buffers.items() if v is not None],
        "non_persistent": sorted(getattr(m, "_non_persistent_buffers_set", set())),
        "children": [tree_record(k, c) for k, c in m._modules.items() if c is not None],
    }


def write_model(name, out_dir, manifest):
    m, x = build(name)
    with torch.no_grad():
        y = m(x)
    entry = {
        "state_dict": state_dict_record(m.state_dict()),
        "tree": tree_record("", m),
        "input": {"shape": list(x.shape), "data": x.flatten().tolist()},
        "output": {"shape": list(y.shape), "data": y.flatten().tolist()},
        "files": {},
    }
    zip_path = os.path.join(out_dir, name + "_zip.pt")
    save_kept(zip_path, lambda f: torch.save(m, f))
    entry["files"]["zip"] = os.path.basename(zip_path)

    legacy_path = os.path.join(out_dir, name + "_legacy.pt")
    save_kept(legacy_path, lambda f: torch.save(m, f, _use_new_zipfile_serialization=False))
    entry["files"]["legacy"] = os.path.basename(legacy_path)

    for kind in ("script", "trace"):
        if kind == "script":
            sm = torch.jit.script(m)
        else:
            sm = torch.jit.trace(m, (x,), check_trace=False)
        p = os.path.join(out_dir, name + "_" + kind + ".pt")
        save_kept(p, lambda f: torch.jit.save(sm, f))
        loaded = torch.jit.load(p)
        entry["files"][kind] = os.path.basename(p)
        # What the archive itself holds, as torch.jit.load gives it back.
        entry[kind] = {
            "state_dict": state_dict_record(loaded.state_dict()),
            "tree": tree_record("", loaded),
        }
    manifest[name] = entry


def generate(large):
    if not large:
        os.makedirs(SMALL_DIR, exist_ok=True)
        manifest = {"torch": torch.__version__}
        for name in ("simplenet", "convbn"):
            write_model(name, SMALL_DIR, manifest)
        write_json(os.path.join(SMALL_DIR, "manifest.json"), manifest)
        write_constants(SMALL_DIR)
        write_typed(SMALL_DIR)
    else:
        os.makedirs(LARGE_DIR, exist_ok=True)
        manifest = {"torch": torch.__version__}
        for name in ("mobilenet_v3_small", "resnet18"):
            write_model(name, LARGE_DIR, manifest)
        # Last: its presence tells the tests that every file is in place.
        write_json(os.path.join(LARGE_DIR, "manifest.json"), manifest)


def check_extract(name, original, extracted):
    orig = torch.load(original, weights_only=False)  # the entire model: needs this script's classes
    orig.eval()
    fresh, x = build(name)
    torch.manual_seed(12345)  # make sure fresh weights differ from the saved ones
    for p in fresh.parameters():
        with torch.no_grad():
            p.uniform_(-1, 1)
    sd = torch.load(extracted, weights_only=True)
    fresh.load_state_dict(sd, strict=True)
    fresh.eval()
    with torch.no_grad():
        a, b = orig(x), fresh(x)
    if not torch.equal(a, b):
        raise SystemExit("outputs differ: %s vs %s" % (a, b))
    print("ok", list(sd.keys()))


def run_script(path):
    m = torch.jit.load(path)
    inputs = [
        torch.tensor(i["data"], dtype=torch.float32).reshape(i["shape"])
        for i in json.load(sys.stdin)
    ]
    with torch.no_grad():
        y = m(*inputs)
    json.dump({"shape": list(y.shape), "data": y.flatten().tolist()}, sys.stdout)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["check-extract"] and len(args) > 1 and len(args) % 3 == 1:
        for i in range(1, len(args), 3):
            check_extract(*args[i:i + 3])
    elif args[:1] == ["run-script"] and len(args) == 2:
        run_script(args[1])
    elif args in ([], ["--large"]):
        if TORCH2 and args:
            raise SystemExit("the torch 2.x set is small files only; run --large with torch 1.13")
        if os.environ.get("PYTHONHASHSEED") != "0":
            # TorchScript writes a module's Final constants in set order, which string
            # hashing randomises: a fixed seed makes the archives the same every run.
            os.execve(sys.executable, [sys.executable] + sys.argv,
                      dict(os.environ, PYTHONHASHSEED="0"))
        generate(large=bool(args))
    else:
        raise SystemExit(__doc__)
