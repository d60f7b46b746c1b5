package extract_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/cli/extract"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestLoad checks the state_dict extract writes against PyTorch's record for every
// fixture: model.state_dict() for entire models, torch.jit.load(f).state_dict() for
// TorchScript (which keeps non-persistent buffers: the archive does not mark them).
func TestLoad(t *testing.T) {
	checkLoad(t, modtreetest.Dir())
}

// TestLoadLarge does the same for torchvision's resnet18 and mobilenet_v3_small.
func TestLoadLarge(t *testing.T) {
	checkLoad(t, modtreetest.Large(t))
}

func checkLoad(t *testing.T, dir string) {
	for name, m := range modtreetest.Load(t, dir) {
		for kind, file := range m.Files {
			t.Run(name+"_"+kind, func(t *testing.T) {
				sd, _, err := extract.Load(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				want := m.StateDict
				switch kind {
				case "script":
					want = m.Script.StateDict
				case "trace":
					want = m.Trace.StateDict
				}
				msd := modtreetest.FromPth(sd.Keys, sd.Tensors, sd.Metadata)
				modtreetest.CheckStateDict(t, msd, want)
			})
		}
	}
}

// TestRoundTripPyTorch writes the state_dict with `pth extract` and has PyTorch load it
// with weights_only=True and load_state_dict(strict=True) into a freshly built
// architecture, which must then give the original model's outputs exactly.
func TestRoundTripPyTorch(t *testing.T) {
	roundTrip(t, modtreetest.Dir())
}

// TestRoundTripPyTorchLarge does the same for torchvision's resnet18 and
// mobilenet_v3_small (BatchNorm everywhere: _metadata versions matter).
func TestRoundTripPyTorchLarge(t *testing.T) {
	roundTrip(t, modtreetest.Large(t))
}

func roundTrip(t *testing.T, dir string) {
	py := modtreetest.Python(t)
	tmp := t.TempDir()
	args := []string{modtreetest.Generator(), "check-extract"}
	for name, m := range modtreetest.Load(t, dir) {
		for kind, file := range m.Files {
			if name == "convbn" && (kind == "script" || kind == "trace") {
				// The archive keeps the non-persistent buffer "scratch" as an ordinary
				// buffer, so strict loading into ConvBN refuses it, as it refuses
				// torch.jit.load(f).state_dict(); TestLoad checks these against PyTorch.
				continue
			}
			out := filepath.Join(tmp, name+"_"+kind+".pt")
			var log bytes.Buffer
			if err := extract.Run(&extract.Options{Model: filepath.Join(dir, file), Out: out, Log: &log}); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			args = append(args, name, filepath.Join(dir, m.Files["zip"]), out)
		}
	}
	// One PyTorch process checks every file (importing torch is the slow part).
	res, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch refused an extracted state_dict: %v\n%s", err, res)
	}
	if n := strings.Count(string(res), "ok ["); n != (len(args)-2)/3 {
		t.Fatalf("PyTorch confirmed %d of %d files:\n%s", n, (len(args)-2)/3, res)
	}
}
