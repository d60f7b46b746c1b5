package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/internal/benchtools/cputime"
	"github.com/pthkit/pth/nn"
	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/pickle"
)

var (
	genOnce sync.Once
	genDir  string
	genErr  error
)

// torchvisionResNet writes a seeded torchvision resnet18 (45 MB) with an input and
// PyTorch's logits into a temporary directory, once per test binary.
func torchvisionResNet(t *testing.T) string {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, torchvision, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PyTorch and torchvision are required in CI: %v", err)
		}
		t.Skip("no /usr/bin/python3 with torch and torchvision")
	}
	genOnce.Do(func() {
		genDir, genErr = os.MkdirTemp("", "pth-resnet18-")
		if genErr != nil {
			return
		}
		out, err := exec.Command(py, "../../testdata/gen/nn_fixtures.py", "resnet18", genDir).CombinedOutput()
		if err != nil {
			genErr = err
			t.Logf("%s", out)
		}
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return genDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(genDir)
	}
	os.Exit(code)
}

func logitsOf(t *testing.T, opt options) [][]float32 {
	var out bytes.Buffer
	opt.JSON = true
	if err := run(opt, &out); err != nil {
		t.Fatal(err)
	}
	var res struct{ Output [][]float32 }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	return res.Output
}

func compareLogits(t *testing.T, dir string, got [][]float32) {
	x, err := npy.ReadFile(filepath.Join(dir, "output.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := nn.ToFloat32(x)
	if err != nil {
		t.Fatal(err)
	}
	rows := want.Rows()
	if len(got) != 1 || len(got[0]) != 1000 || len(rows) != 1 {
		t.Fatalf("logits shape %dx?, want 1x1000", len(got))
	}
	worst := 0.0
	for j := range rows[0] {
		worst = math.Max(worst, math.Abs(float64(got[0][j]-rows[0][j])))
	}
	if worst > 1e-4 {
		t.Fatalf("max abs logit diff %g, want ≤ 1e-4", worst)
	}
}

// TestResNet18MatchesTorchvision: torchvision's resnet18 weights (via .npz of its
// state_dict) on a random 1×3×64×64 input give PyTorch's logits within 1e-4.
func TestResNet18MatchesTorchvision(t *testing.T) {
	dir := torchvisionResNet(t)
	got := logitsOf(t, options{Weights: filepath.Join(dir, "resnet18.npz"), Input: filepath.Join(dir, "input.npy")})
	compareLogits(t, dir, got)
}

// TestResNet18FromPth is the same from the torch.save'd .pth file.
func TestResNet18FromPth(t *testing.T) {
	dir := torchvisionResNet(t)
	got := logitsOf(t, options{Weights: filepath.Join(dir, "resnet18.pth"), Input: filepath.Join(dir, "input.npy")})
	compareLogits(t, dir, got)
}

// TestResNet18StateDictLayout: keys, order and _metadata equal torchvision's.
func TestResNet18StateDictLayout(t *testing.T) {
	dir := torchvisionResNet(t)
	b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Keys     []string         `json:"keys"`
		Metadata map[string]int64 `json:"metadata"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	sd := NewResNet18(1000).StateDict()
	if !reflect.DeepEqual(sd.Keys, ref.Keys) {
		t.Fatalf("keys differ from torchvision's:\n got %v\nwant %v", sd.Keys, ref.Keys)
	}
	meta := map[string]int64{}
	for _, e := range sd.Metadata.Entries {
		v, _ := e.Value.(*pickle.Dict).Get("version")
		meta[e.Key.(string)] = v.(int64)
	}
	if !reflect.DeepEqual(meta, ref.Metadata) {
		t.Fatalf("_metadata differs:\n got %v\nwant %v", meta, ref.Metadata)
	}
}

// TestGoSavedLoadsInTorchvision: Go saves its ResNet-18 (running statistics moved
// by a training step); torchvision's resnet18 loads it with strict=True and
// computes Go's logits within 1e-4.
func TestGoSavedLoadsInTorchvision(t *testing.T) {
	dir := torchvisionResNet(t)
	nn.ManualSeed(3)
	m := NewResNet18(1000)
	x := readInput(t, filepath.Join(dir, "input.npy"))
	m.Forward(x)
	m.Eval()
	want := m.Forward(x)
	path := filepath.Join(t.TempDir(), "go_resnet18.pth")
	if err := pth.SaveStateDict(path, m.StateDict()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(path), "torch_out.npy")
	cmd := exec.Command("/usr/bin/python3", "../../testdata/gen/nn_fixtures.py", "check-model", "resnet18", path, filepath.Join(dir, "input.npy"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torchvision could not load Go's state_dict: %v\n%s", err, msg)
	}
	got := readInput(t, out)
	worst := 0.0
	for i := range want.Data {
		worst = math.Max(worst, math.Abs(float64(got.Data[i]-want.Data[i])))
	}
	if worst > 1e-4 {
		t.Fatalf("max abs logit diff %g, want ≤ 1e-4", worst)
	}
}

func readInput(t *testing.T, path string) *nn.Tensor {
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

// BenchmarkResNet18 is one 224×224 image through ResNet-18 (see BENCHMARKS.md).
func BenchmarkResNet18(b *testing.B) {
	m := NewResNet18(1000)
	m.Eval()
	x := patternInput()
	m.Forward(x)
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		m.Forward(x)
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/1e6/float64(b.N), "cpu-ms/op")
}
