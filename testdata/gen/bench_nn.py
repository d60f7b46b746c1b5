#!/usr/bin/python3
"""pth's nn forward passes against PyTorch on the same machine, both on 2 threads.

    /usr/bin/python3 testdata/gen/bench_nn.py [--no-install] [--runs N]

Measures, in one run:
  * torchvision ResNet-18 forward on one 1x3x224x224 image (eval, no_grad)
  * Linear(4096, 4096) on a batch of 64
for PyTorch (torch.set_num_threads(2)) and for pth (`go test -bench` with GOMAXPROCS=2),
and prints a Markdown table with the ratio. Debian's python3-torch links the reference
BLAS unless libopenblas0-pthread is installed (about 40x slower for the Linear), so the
script installs it first (apt-get, needs root) unless --no-install is given.
"""
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def ensure_openblas():
    if subprocess.call(["dpkg", "-s", "libopenblas0-pthread"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        return True
    try:
        subprocess.check_call(["apt-get", "install", "-y", "libopenblas0-pthread"], stdout=subprocess.DEVNULL)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print("could not install libopenblas0-pthread (%s); PyTorch uses the reference BLAS" % e, file=sys.stderr)
        return False


def best_ms(fn, runs):
    fn()  # warm up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[0], times[len(times) // 2]


def torch_bench(runs):
    import torch
    import torchvision
    torch.set_num_threads(2)
    torch.manual_seed(0)
    out = {}
    m = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        out["resnet18_224"] = best_ms(lambda: m(x), runs)
        lin = torch.nn.Linear(4096, 4096)
        xb = torch.randn(64, 4096)
        out["linear_4096_b64"] = best_ms(lambda: lin(xb), runs)
    # The BLAS actually mapped (Debian's torch links libblas.so.3, an alternative).
    with open("/proc/self/maps") as f:
        out["blas"] = sorted({l.split()[-1] for l in f if "blas" in l.lower() and "/" in l})
    return out


def go_bench(runs):
    env = dict(os.environ, GOMAXPROCS="2")
    res = {}
    for pkg, name, key in [("./examples/resnet", "BenchmarkResNet18$", "resnet18_224"),
                           ("./nn", "BenchmarkLinear4096$", "linear_4096_b64")]:
        outp = subprocess.check_output(["go", "test", pkg, "-run", "^$", "-bench", name, "-benchtime", "%dx" % runs,
                                        "-count", "3"], cwd=ROOT, env=env, text=True)
        ns = [float(m.group(1)) for m in re.finditer(r"\s([\d.]+) ns/op", outp)]
        ns.sort()
        res[key] = (ns[0] / 1e6, ns[len(ns) // 2] / 1e6)
    return res


def main():
    runs = 10
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    openblas = False if "--no-install" in sys.argv else ensure_openblas()
    t = torch_bench(runs)
    g = go_bench(max(3, runs // 2))
    load = os.getloadavg()
    print("| workload | PyTorch 1.13 (%s) best / median ms | pth best / median ms | ratio (best) |" %
          ("OpenBLAS pthread" if openblas else "reference BLAS"))
    print("|---|---|---|---|")
    for key, label in [("resnet18_224", "ResNet-18 forward, 1×3×224×224"), ("linear_4096_b64", "Linear(4096, 4096), batch 64")]:
        print("| %s | %.1f / %.1f | %.1f / %.1f | %.1f× |" % (label, t[key][0], t[key][1], g[key][0], g[key][1], g[key][0] / t[key][0]))
    print()
    print("load average during the run: %.1f %.1f %.1f; 2 threads each" % load)
    print(json.dumps({"torch": t, "pth": g, "loadavg": load}))


if __name__ == "__main__":
    main()
