package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/npy"
)

const fixtures = "../../testdata/nn"

// abs makes a path absolute: PTH_TORCH2's Python may run in a chroot, which starts in
// its own root directory.
func abs(t *testing.T, path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readNpy(t *testing.T, path string) *nn.Tensor {
	x, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := nn.ToFloat32(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func runJSON(t *testing.T, opt options) [][]float32 {
	var out bytes.Buffer
	opt.JSON = true
	if err := run(opt, &out); err != nil {
		t.Fatal(err)
	}
	var res struct{ Output [][]float32 }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	return res.Output
}

func assertRows(t *testing.T, what string, got [][]float32, want *nn.Tensor) {
	rows := want.Rows()
	if len(got) != len(rows) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(rows))
	}
	for i := range rows {
		for j := range rows[i] {
			if d := math.Abs(float64(got[i][j] - rows[i][j])); d > 1e-5 || len(got[i]) != len(rows[i]) {
				t.Fatalf("%s: [%d][%d] = %v, PyTorch %v", what, i, j, got[i][j], rows[i][j])
			}
		}
	}
}

// TestPyTorchSavedLoadsInGo: PyTorch saved SimpleNet's state_dict (float32 and
// float64); Go loads it strictly and matches PyTorch's output on the same input.
func TestPyTorchSavedLoadsInGo(t *testing.T) {
	want := readNpy(t, filepath.Join(fixtures, "simplenet.pth.out.npy"))
	for _, f := range []string{"simplenet.pth", "simplenet_f64.pth"} {
		got := runJSON(t, options{Load: filepath.Join(fixtures, f), Input: filepath.Join(fixtures, "simplenet.pth.in.npy")})
		assertRows(t, f, got, want)
	}
}

// TestGoSavedLoadsInPyTorch: Go saves a seeded SimpleNet; PyTorch loads it with
// load_state_dict(strict=True) and gets Go's outputs. It runs under Debian's PyTorch
// 1.13 and, when PTH_TORCH2 is set, PyTorch 2.x (modtreetest.PyTorches).
func TestGoSavedLoadsInPyTorch(t *testing.T) {
	for _, py := range modtreetest.PyTorches() {
		t.Run(py.Name, func(t *testing.T) {
			py.Require(t, "numpy")
			dir := py.TempDir(t)
			sd := filepath.Join(dir, "sd.pth")
			in := abs(t, filepath.Join(fixtures, "simplenet.pth.in.npy"))
			var out bytes.Buffer
			if err := run(options{Save: sd, Seed: 7}, &out); err != nil {
				t.Fatal(err)
			}
			goOut := runJSON(t, options{Load: sd, Input: in})
			pyOut := filepath.Join(dir, "py.npy")
			cmd := py.Command(abs(t, "../../testdata/gen/nn_fixtures.py"), "check-simplenet", sd, in, pyOut)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("PyTorch (%s) could not load Go's state_dict: %v\n%s", py.Name, err, msg)
			}
			assertRows(t, "PyTorch ("+py.Name+") on Go's weights", goOut, readNpy(t, pyOut))
		})
	}
}

// TestWalkThrough runs the default walk-through in a temporary directory.
func TestWalkThrough(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out bytes.Buffer
	if err := run(options{}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, defaultPath)); err != nil {
		t.Fatal(err)
	}
	// The reloaded model prints what the model it was saved from computes.
	nn.ManualSeed(0)
	m := NewSimpleNet(10, 5, 2)
	m.Eval()
	want := fmt.Sprint("output: ", m.Forward(fixedInput()).Rows())
	if !bytes.Contains(out.Bytes(), []byte(want)) {
		t.Fatalf("output %q does not show %s", out.String(), want)
	}
}

// TestSaveScriptRunsInPyTorch: --save-script writes SimpleNet as TorchScript;
// torch.jit.load opens it with no Python class and gives Go's outputs, under Debian's
// PyTorch 1.13 and, when PTH_TORCH2 is set, PyTorch 2.x (modtreetest.PyTorches).
func TestSaveScriptRunsInPyTorch(t *testing.T) {
	for _, py := range modtreetest.PyTorches() {
		t.Run(py.Name, func(t *testing.T) {
			py.Require(t, "numpy")
			dir := py.TempDir(t)
			sd, script := filepath.Join(dir, "sd.pth"), filepath.Join(dir, "script.pt")
			in := abs(t, filepath.Join(fixtures, "simplenet.pth.in.npy"))
			if err := run(options{Save: sd, Seed: 11}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			goOut := runJSON(t, options{Load: sd, Input: in, SaveScript: script})
			pyOut := filepath.Join(dir, "py.npy")
			prog := `
import sys, numpy, torch
m = torch.jit.load(sys.argv[1])
with torch.no_grad():
    y = m(torch.from_numpy(numpy.load(sys.argv[2])))
numpy.save(sys.argv[3], y.numpy())
`
			if msg, err := py.Command("-c", prog, script, in, pyOut).CombinedOutput(); err != nil {
				t.Fatalf("torch.jit.load (%s) could not run Go's archive: %v\n%s", py.Name, err, msg)
			}
			assertRows(t, "TorchScript run by PyTorch ("+py.Name+")", goOut, readNpy(t, pyOut))
		})
	}
}

// TestLoadWholeModelFiles: --load takes entire-model pickles and TorchScript archives
// too; each gives the output PyTorch recorded for that model on the same input
// (testdata/models/manifest.json, written by testdata/gen/model_fixtures.py).
func TestLoadWholeModelFiles(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/models/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		SimpleNet struct {
			Files map[string]string `json:"files"`
			Input struct {
				Data  []float32
				Shape []int
			} `json:"input"`
			Output struct {
				Data  []float32
				Shape []int
			} `json:"output"`
		} `json:"simplenet"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "in.npy")
	x := nn.NewTensor([]int{m.SimpleNet.Input.Shape[0], m.SimpleNet.Input.Shape[1]}, m.SimpleNet.Input.Data)
	if err := npy.WriteFile(in, nn.FromFloat32(x)); err != nil {
		t.Fatal(err)
	}
	want := nn.NewTensor([]int{m.SimpleNet.Output.Shape[0], m.SimpleNet.Output.Shape[1]}, m.SimpleNet.Output.Data)
	for kind, f := range m.SimpleNet.Files {
		got := runJSON(t, options{Load: filepath.Join("../../testdata/models", f), Input: in})
		assertRows(t, kind+" "+f, got, want)
	}
}
