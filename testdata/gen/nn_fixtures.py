#!/usr/bin/python3
"""Fixtures for pth's nn, npy and remap packages, written by real PyTorch and numpy.

Run with Debian's /usr/bin/python3 (torch 1.13, numpy):

    /usr/bin/python3 testdata/gen/nn_fixtures.py            # writes testdata/nn/ (small, committed)
    /usr/bin/python3 testdata/gen/nn_fixtures.py resnet18 DIR
        # seeded torchvision resnet18 state_dict (45 MB; .pth and .npz), a random 1x3x64x64 input,
        # its logits and the state_dict's keys and _metadata, into DIR
    /usr/bin/python3 testdata/gen/nn_fixtures.py check-simplenet STATE_DICT INPUT.npy OUTPUT.npy
        # loads a state_dict (saved by pth) into PyTorch's SimpleNet with strict=True, runs INPUT in
        # eval mode and writes the output
    /usr/bin/python3 testdata/gen/nn_fixtures.py check-model simplenet|convnet|resnet18 STATE_DICT INPUT.npy OUTPUT.npy
        # the same for the fixtures' ConvNet and torchvision's resnet18
    /usr/bin/python3 testdata/gen/nn_fixtures.py check-npy FILE.npy|FILE.npz
        # loads a file pth wrote with numpy and prints a JSON description of every array

Everything here is the independent truth the Go tests compare against.
"""
import collections
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn")


class SimpleNet(nn.Module):
    """The seed's model."""

    def __init__(self, input_size=10, hidden_size=5, output_size=2):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class SimpleNetWide(nn.Module):
    """A mismatched target: fc1 is wider, fc2 became fc3."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 6)
        self.relu = nn.ReLU()
        self.fc3 = nn.Linear(6, 2)


class ConvNet(nn.Module):
    """A Conv/BatchNorm/Pool model."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Sequential(nn.Linear(16, 12), nn.GELU(), nn.Dropout(0.5), nn.Linear(12, 4))

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.flatten(self.avgpool(self.dw(x)))
        return self.head(x)


def randomize(m, seed):
    """Random parameters and running statistics, so no test passes on defaults."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for name, b in m.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.3)
            elif name.endswith("num_batches_tracked"):
                b.fill_(4)
    return m


def save_sd_npz(path, sd):
    arrays = collections.OrderedDict((k, v.detach().cpu().numpy()) for k, v in sd.items())
    np.savez(path, **arrays)


def metadata(sd):
    return {k: v["version"] for k, v in sd._metadata.items()}


# name, module factory, input factory (seeded), whether train mode differs
CASES = [
    ("linear", lambda: nn.Linear(7, 5), lambda g: torch.randn(3, 7, generator=g), False),
    ("linear_nobias", lambda: nn.Linear(7, 5, bias=False), lambda g: torch.randn(2, 4, 7, generator=g), False),
    ("relu", nn.ReLU, lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("relu6", nn.ReLU6, lambda g: torch.randn(4, 6, generator=g) * 5, False),
    ("gelu", nn.GELU, lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("gelu_tanh", lambda: nn.GELU(approximate="tanh"), lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("silu", nn.SiLU, lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("sigmoid", nn.Sigmoid, lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("tanh", nn.Tanh, lambda g: torch.randn(4, 6, generator=g) * 3, False),
    ("hardswish", nn.Hardswish, lambda g: torch.randn(4, 6, generator=g) * 4, False),
    ("hardsigmoid", nn.Hardsigmoid, lambda g: torch.randn(4, 6, generator=g) * 4, False),
    ("softmax_dim1", lambda: nn.Softmax(dim=1), lambda g: torch.randn(2, 3, 4, generator=g) * 3, False),
    ("softmax_last", lambda: nn.Softmax(dim=-1), lambda g: torch.randn(2, 3, 4, generator=g) * 3, False),
    ("dropout", lambda: nn.Dropout(0.3), lambda g: torch.randn(3, 5, generator=g), False),
    ("identity", nn.Identity, lambda g: torch.randn(3, 5, generator=g), False),
    ("flatten", nn.Flatten, lambda g: torch.randn(2, 3, 4, 5, generator=g), False),
    ("flatten_0_2", lambda: nn.Flatten(0, 2), lambda g: torch.randn(2, 3, 4, 5, generator=g), False),
    ("sequential", lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
     lambda g: torch.randn(5, 4, generator=g), False),
    ("modulelist", lambda: nn.ModuleList([nn.Linear(3, 3), nn.ReLU(), nn.BatchNorm1d(3)]), None, False),
    ("moduledict", lambda: nn.ModuleDict(collections.OrderedDict(
        [("b", nn.Linear(2, 2)), ("a", nn.LayerNorm(2)), ("c", nn.Embedding(3, 2))])), None, False),
    ("conv1d", lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1), lambda g: torch.randn(2, 4, 11, generator=g), False),
    ("conv1d_groups", lambda: nn.Conv1d(4, 8, 3, groups=2, dilation=2), lambda g: torch.randn(2, 4, 13, generator=g), False),
    ("conv2d", lambda: nn.Conv2d(3, 8, 3, padding=1), lambda g: torch.randn(2, 3, 9, 9, generator=g), False),
    ("conv2d_strided", lambda: nn.Conv2d(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), bias=False),
     lambda g: torch.randn(1, 3, 10, 12, generator=g), False),
    ("conv2d_groups", lambda: nn.Conv2d(4, 6, 3, stride=2, groups=2), lambda g: torch.randn(2, 4, 8, 8, generator=g), False),
    ("conv2d_depthwise", lambda: nn.Conv2d(6, 6, 3, padding=1, groups=6), lambda g: torch.randn(1, 6, 7, 7, generator=g), False),
    ("conv2d_1x1", lambda: nn.Conv2d(5, 7, 1), lambda g: torch.randn(2, 5, 4, 4, generator=g), False),
    ("batchnorm2d", lambda: nn.BatchNorm2d(4), lambda g: torch.randn(3, 4, 5, 5, generator=g) * 2 + 1, True),
    ("batchnorm2d_cma", lambda: nn.BatchNorm2d(3, momentum=None), lambda g: torch.randn(2, 3, 4, 4, generator=g), True),
    ("batchnorm2d_plain", lambda: nn.BatchNorm2d(3, affine=False, track_running_stats=False),
     lambda g: torch.randn(2, 3, 4, 4, generator=g), True),
    ("batchnorm1d", lambda: nn.BatchNorm1d(5, eps=1e-3, momentum=0.2), lambda g: torch.randn(6, 5, generator=g), True),
    ("batchnorm1d_3d", lambda: nn.BatchNorm1d(3), lambda g: torch.randn(4, 3, 7, generator=g), True),
    ("layernorm", lambda: nn.LayerNorm(5), lambda g: torch.randn(3, 5, generator=g) * 2, False),
    ("layernorm_2d", lambda: nn.LayerNorm([4, 5], eps=1e-3), lambda g: torch.randn(2, 4, 5, generator=g), False),
    ("layernorm_noaffine", lambda: nn.LayerNorm(6, elementwise_affine=False), lambda g: torch.randn(2, 6, generator=g), False),
    ("embedding", lambda: nn.Embedding(10, 4, padding_idx=2),
     lambda g: torch.randint(0, 10, (2, 3), generator=g), False),
    ("maxpool2d", lambda: nn.MaxPool2d(3, 2, 1), lambda g: torch.randn(2, 3, 9, 9, generator=g), False),
    ("maxpool2d_ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), lambda g: torch.randn(1, 2, 7, 7, generator=g), False),
    ("avgpool2d", lambda: nn.AvgPool2d(3, 2, 1), lambda g: torch.randn(2, 3, 9, 9, generator=g), False),
    ("avgpool2d_exclude_pad", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda g: torch.randn(1, 2, 8, 8, generator=g), False),
    ("adaptiveavgpool2d", lambda: nn.AdaptiveAvgPool2d((3, 2)), lambda g: torch.randn(2, 3, 7, 5, generator=g), False),
    ("adaptiveavgpool2d_1", lambda: nn.AdaptiveAvgPool2d(1), lambda g: torch.randn(1, 4, 5, 6, generator=g), False),
    ("simplenet", SimpleNet, lambda g: torch.randn(4, 10, generator=g), False),
    ("convnet", ConvNet, lambda g: torch.randn(2, 3, 16, 16, generator=g), True),
]


def gen_cases():
    manifest = []
    for i, (name, make, make_input, train) in enumerate(CASES):
        torch.manual_seed(1000 + i)
        m = randomize(make(), 2000 + i)
        sd = m.state_dict()
        entry = {"name": name, "class": type(m).__name__, "keys": list(sd.keys()), "metadata": metadata(sd),
                 "dtypes": {k: str(v.dtype) for k, v in sd.items()}}
        save_sd_npz(os.path.join(OUT, name + ".sd.npz"), sd)
        if make_input is not None:
            x = make_input(torch.Generator().manual_seed(3000 + i))
            np.save(os.path.join(OUT, name + ".in.npy"), x.numpy())
            m.eval()
            with torch.no_grad():
                np.save(os.path.join(OUT, name + ".eval.npy"), m(x).numpy())
            if train:
                m.train()
                for sub in m.modules():  # Dropout's random mask cannot be reproduced outside torch
                    if isinstance(sub, nn.Dropout):
                        sub.eval()
                with torch.no_grad():
                    y = m(x)
                np.save(os.path.join(OUT, name + ".train.npy"), y.numpy())
                save_sd_npz(os.path.join(OUT, name + ".train_sd.npz"), m.state_dict())
            entry["train"] = train
        manifest.append(entry)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def outcome(target, sd, strict):
    try:
        r = target.load_state_dict(sd, strict=strict)
        return {"missing": list(r.missing_keys), "unexpected": list(r.unexpected_keys)}
    except RuntimeError as e:
        return {"error": str(e)}


def gen_mismatch():
    """load_state_dict's verdicts for mismatched pairs, strict and not."""
    pairs = []
    torch.manual_seed(7)
    src = SimpleNet().state_dict()
    save_sd_npz(os.path.join(OUT, "mismatch_simplenet.sd.npz"), src)
    pairs.append({"name": "simplenet_into_wide", "source": "mismatch_simplenet", "metadata": metadata(src),
                  "strict": outcome(SimpleNetWide(), src, True), "nonstrict": outcome(SimpleNetWide(), src, False)})

    # Keys removed and foreign ones added, in an order that tests where each is reported.
    torch.manual_seed(8)
    sd = ConvNet().state_dict()
    edited = collections.OrderedDict()
    edited["extra_root"] = torch.zeros(1)
    for k, v in sd.items():
        if k in ("bn1.running_var", "head.3.bias", "conv2.weight"):
            continue
        edited[k] = v
        if k == "bn1.bias":
            edited["bn1.surprise"] = torch.ones(2)
            edited["bn1.weight.deeper"] = torch.ones(1)
    edited["head.9.weight"] = torch.ones(3)
    edited["conv1._extra_state"] = torch.ones(1)
    edited._metadata = sd._metadata
    save_sd_npz(os.path.join(OUT, "mismatch_convnet.sd.npz"), edited)
    pairs.append({"name": "convnet_edited", "source": "mismatch_convnet", "metadata": metadata(sd),
                  "strict": outcome(ConvNet(), edited, True), "nonstrict": outcome(ConvNet(), edited, False)})

    # An old checkpoint: no _metadata and no num_batches_tracked. BatchNorm fills it in.
    old = collections.OrderedDict((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    save_sd_npz(os.path.join(OUT, "mismatch_old_bn.sd.npz"), old)
    pairs.append({"name": "convnet_old_bn", "source": "mismatch_old_bn", "metadata": None,
                  "strict": outcome(ConvNet(), old, True), "nonstrict": outcome(ConvNet(), old, False)})
    # The same state_dict with _metadata version 2 claims num_batches_tracked should be there.
    old2 = collections.OrderedDict(old)
    old2._metadata = sd._metadata
    pairs.append({"name": "convnet_v2_missing_nbt", "source": "mismatch_old_bn", "metadata": metadata(sd),
                  "strict": outcome(ConvNet(), old2, True), "nonstrict": outcome(ConvNet(), old2, False)})
    with open(os.path.join(OUT, "mismatch.json"), "w") as f:
        json.dump(pairs, f, indent=1)
        f.write("\n")


def gen_pth():
    """torch.save'd state_dicts (zip format), float32 and float64, with input and output."""
    torch.manual_seed(42)
    m = randomize(SimpleNet(), 42).eval()
    x = torch.randn(3, 10, generator=torch.Generator().manual_seed(43))
    torch.save(m.state_dict(), os.path.join(OUT, "simplenet.pth"))
    np.save(os.path.join(OUT, "simplenet.pth.in.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(OUT, "simplenet.pth.out.npy"), m(x).numpy())
    torch.save(m.double().state_dict(), os.path.join(OUT, "simplenet_f64.pth"))

    c = randomize(ConvNet(), 44).eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(45))
    torch.save(c.state_dict(), os.path.join(OUT, "convnet.pth"))
    np.save(os.path.join(OUT, "convnet.pth.in.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(OUT, "convnet.pth.out.npy"), c(x).numpy())
    # A DataParallel-style checkpoint for remap: module. prefix, nested in a dict with other values.
    sd = collections.OrderedDict(("module." + k, v) for k, v in m.float().state_dict().items())
    torch.save({"epoch": 3, "state_dict": sd, "note": "dp"}, os.path.join(OUT, "simplenet_dp_ckpt.pth"))


def gen_npy():
    """numpy's own .npy/.npz files: every dtype, orders, header versions, byte orders."""
    d = os.path.join(OUT, "npy")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(5)
    base = rng.standard_normal((2, 3)) * 50
    dtypes = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "c8", "c16", "?"]
    index = []
    for dt in dtypes:
        for order in ("<", ">"):
            if dt in ("i1", "u1", "?") and order == ">":
                continue
            descr = order + dt if dt != "?" else "|b1"
            if dt in ("i1", "u1"):
                descr = "|" + dt
            if dt.startswith("c"):
                a = (base + 1j * base[::-1]).astype(descr)
            elif dt == "?":
                a = base > 0
            else:
                a = np.clip(base, -100, 100).astype(descr)
            name = "%s_%s.npy" % (dt.replace("?", "bool"), "be" if order == ">" else "le")
            np.save(os.path.join(d, name), a)
            index.append({"file": name, "descr": a.dtype.str, "shape": list(a.shape), "fortran": False})
    f = np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4))
    np.save(os.path.join(d, "f4_fortran.npy"), f)
    index.append({"file": "f4_fortran.npy", "descr": "<f4", "shape": [2, 3, 4], "fortran": True})
    np.save(os.path.join(d, "scalar_f8.npy"), np.float64(2.5))
    index.append({"file": "scalar_f8.npy", "descr": "<f8", "shape": [], "fortran": False})
    np.save(os.path.join(d, "empty_i4.npy"), np.zeros((0, 3), dtype="<i4"))
    index.append({"file": "empty_i4.npy", "descr": "<i4", "shape": [0, 3], "fortran": False})
    # Header versions 2.0 and 3.0 (3.0 allows utf-8 field names; for plain arrays the layout is 2.0's).
    for ver in ((2, 0), (3, 0)):
        a = np.arange(6, dtype="<i8").reshape(3, 2)
        name = "i8_v%d.npy" % ver[0]
        with open(os.path.join(d, name), "wb") as fh:
            np.lib.format.write_array(fh, a, version=ver)
        index.append({"file": name, "descr": "<i8", "shape": [3, 2], "fortran": False})
    np.save(os.path.join(d, "object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.savez(os.path.join(d, "stored.npz"), a=np.arange(5, dtype="<f4"), b=np.eye(2, dtype="<i2"))
    np.savez_compressed(os.path.join(d, "deflated.npz"), x=np.linspace(0, 1, 7).astype("<f8"), y=np.array([True, False]))
    # Each array's values as float64 (real) or [re, im] pairs, for comparison.
    for e in index:
        a = np.load(os.path.join(d, e["file"]))
        if np.iscomplexobj(a):
            e["values"] = [[float(v.real), float(v.imag)] for v in a.reshape(-1, order="C")]
        else:
            e["values"] = [float(v) for v in a.reshape(-1, order="C")]
    with open(os.path.join(d, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")


def gen_remap():
    """Key remapping truth: torch's consume_prefix_in_state_dict_if_present for a stripped
    prefix, Python's re.sub / re.search for rename and drop."""
    import re
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present
    torch.manual_seed(9)
    dp = nn.DataParallel(ConvNet())
    sd = dp.state_dict()
    cases = []
    # name, rules (applied in order), what Python does with them
    specs = [
        ("strip_module", [["strip", "module."]]),
        ("strip_rename_drop_add", [["strip", "module."], ["rename", r"^bn(\d)\.", r"norm\1."],
                                   ["drop", r"num_batches_tracked$"], ["add", "backbone."]]),
        ("rename_groups", [["rename", r"^module\.head\.(\d+)\.(weight|bias)$", r"classifier.\1.\2"]]),
    ]
    for name, rules in specs:
        keys = list(sd.keys())
        meta = {k: v["version"] for k, v in sd._metadata.items()}
        if rules[0] == ["strip", "module."] and len(rules) == 1:
            c = collections.OrderedDict(sd)
            c._metadata = collections.OrderedDict(sd._metadata)
            consume_prefix_in_state_dict_if_present(c, "module.")
            keys_out = list(c.keys())
            # torch 1.13 leaves _metadata alone here (it looks for a "_metadata" key); torch 2.x
            # renames it as below ("module" becomes "", replacing the DataParallel root entry).
            meta_out = {}
            for k, v in sd._metadata.items():
                if k and (k == "module" or k.startswith("module.")):
                    k = k[len("module."):]
                meta_out[k] = v["version"]
            # consume_prefix re-inserts renamed keys at the end in sorted order; pth keeps the
            # original order, so compare the key sets and the per-key mapping.
        else:
            keys_out, meta_out = [], {}
            for k in keys:
                keep = True
                for kind, *args in rules:
                    if kind == "strip" and k.startswith(args[0]):
                        k = k[len(args[0]):]
                    elif kind == "add":
                        k = args[0] + k
                    elif kind == "rename":
                        k = re.sub(args[0], args[1], k)
                    elif kind == "drop" and re.search(args[0], k):
                        keep = False
                        break
                if keep:
                    keys_out.append(k)
            meta_out = None
        cases.append({"name": name, "rules": rules, "keys": keys, "metadata": meta,
                      "keys_out": keys_out, "metadata_out": meta_out})
    with open(os.path.join(OUT, "remap.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


def resnet18(outdir):
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.resnet18()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        g = torch.Generator().manual_seed(1)
        for name, b in m.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
        for name, p in m.named_parameters():
            if name.endswith("bn1.weight") or name.endswith("bn2.weight") or ".bn" in name:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
    m.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    torch.save(m.state_dict(), os.path.join(outdir, "resnet18.pth"))
    save_sd_npz(os.path.join(outdir, "resnet18.npz"), m.state_dict())
    np.save(os.path.join(outdir, "input.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(outdir, "output.npy"), m(x).numpy())
    with open(os.path.join(outdir, "keys.json"), "w") as f:
        sd = m.state_dict()
        json.dump({"keys": list(sd.keys()), "metadata": metadata(sd)}, f)


def check_model(name, path, inp, out):
    """Load a state_dict pth saved into PyTorch's model `name` (strict), run INPUT in eval mode."""
    if name == "resnet18":
        import torchvision
        m = torchvision.models.resnet18()
    else:
        m = {"simplenet": SimpleNet, "convnet": ConvNet}[name]()
    sd = torch.load(path, weights_only=True) if "weights_only" in torch.load.__code__.co_varnames else torch.load(path)
    if "state_dict" in sd and not torch.is_tensor(sd["state_dict"]):  # a training checkpoint
        sd = sd["state_dict"]
    m.load_state_dict(sd, strict=True)
    m.eval()
    with torch.no_grad():
        np.save(out, m(torch.from_numpy(np.load(inp))).numpy())


def check_npy(path):
    z = np.load(path, allow_pickle=False)
    items = z.items() if hasattr(z, "files") else [("", z)]
    desc = []
    for k, a in items:
        vals = a.reshape(-1)
        if np.iscomplexobj(a):
            vals = [[float(v.real), float(v.imag)] for v in vals]
        else:
            vals = [float(v) for v in vals]
        desc.append({"name": k, "descr": a.dtype.str, "shape": list(a.shape),
                     "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous), "values": vals})
    print(json.dumps(desc))


def main():
    if len(sys.argv) > 1:
        cmd = sys.argv[1]
        if cmd == "resnet18":
            return resnet18(sys.argv[2])
        if cmd == "check-simplenet":
            return check_model("simplenet", *sys.argv[2:5])
        if cmd == "check-model":
            return check_model(*sys.argv[2:6])
        if cmd == "check-npy":
            return check_npy(sys.argv[2])
        sys.exit("unknown command " + cmd)
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    gen_cases()
    gen_mismatch()
    gen_pth()
    gen_npy()
    gen_remap()


if __name__ == "__main__":
    main()
