package extract_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/cli/extract"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestRoundTripPyTorch writes the state_dict with `pth extract` and has PyTorch load it
// with weights_only=True and load_state_dict(strict=True) into a freshly built
// architecture, which must then give the original model's outputs exactly. It runs
// under every PyTorch modtreetest.PyTorches names (Debian's 1.13, and 2.x when
// PTH_TORCH2 is set), each on the entire models and TorchScript archives both
// PyTorch 1.13 and PyTorch 2.6 wrote (testdata/models, testdata/models/torch2).
func TestRoundTripPyTorch(t *testing.T) {
	for _, py := range modtreetest.PyTorches() {
		t.Run(py.Name, func(t *testing.T) {
			py.Require(t)
			roundTrip(t, py, modtreetest.Dirs()...)
		})
	}
}

// TestRoundTripPyTorchLarge does the same for torchvision's resnet18 and
// mobilenet_v3_small (BatchNorm everywhere: _metadata versions matter), written by
// PyTorch 1.13.
func TestRoundTripPyTorchLarge(t *testing.T) {
	dir := modtreetest.Large(t)
	for _, py := range modtreetest.PyTorches() {
		t.Run(py.Name, func(t *testing.T) {
			py.Require(t, "torchvision")
			roundTrip(t, py, dir)
		})
	}
}

func roundTrip(t *testing.T, py modtreetest.PyTorch, dirs ...string) {
	tmp := py.TempDir(t)
	args := []string{modtreetest.Generator(), "check-extract"}
	for _, dir := range dirs {
		torch := modtreetest.Torch(t, dir)
		for name, m := range modtreetest.Load(t, dir) {
			for kind, file := range m.Files {
				if name == "convbn" && (kind == "script" || kind == "trace") {
					// The archive keeps the non-persistent buffer "scratch" as an ordinary
					// buffer, so strict loading into ConvBN refuses it, as it refuses
					// torch.jit.load(f).state_dict(); TestLoad checks these against PyTorch.
					continue
				}
				out := filepath.Join(tmp, name+"_"+kind+"_"+torch+".pt")
				var log bytes.Buffer
				if err := extract.Run(&extract.Options{Model: filepath.Join(dir, file), Out: out, Log: &log}); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				args = append(args, name, filepath.Join(dir, m.Files["zip"]), out)
			}
		}
	}
	// One PyTorch process checks every file (importing torch is the slow part).
	res, err := py.Command(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch (%s) refused an extracted state_dict: %v\n%s", py.Name, err, res)
	}
	n, want := strings.Count(string(res), "ok ["), (len(args)-2)/3
	if n != want {
		t.Fatalf("PyTorch (%s) confirmed %d of %d files:\n%s", py.Name, n, want, res)
	}
	t.Logf("%s confirmed %d extracted state_dicts", py.Name, n)
}
