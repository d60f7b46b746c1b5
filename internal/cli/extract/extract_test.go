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
