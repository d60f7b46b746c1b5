package remap

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/remap"
)

const fixtures = "../../../testdata/nn"

// TestStripDataParallelPrefix: PyTorch's DataParallel-style checkpoint (epoch,
// note, state_dict with "module." keys) is remapped; the other values survive and
// PyTorch loads the result into SimpleNet with strict=True, giving the outputs
// PyTorch computed for those weights.
func TestStripDataParallelPrefix(t *testing.T) {
	out := filepath.Join(t.TempDir(), "plain.pth")
	var stdout bytes.Buffer
	err := Run(&Options{In: filepath.Join(fixtures, "simplenet_dp_ckpt.pth"), Out: out,
		StripPrefix: []string{"module."}, JSON: true, Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Renamed) != 4 || rep.Renamed[0] != (RenamedEntry{"state_dict/module.fc1.weight", "state_dict/fc1.weight"}) {
		t.Fatalf("report %+v", rep)
	}
	root, err := pth.Load(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := root.(*pickle.Dict)
	if !ok {
		t.Fatalf("root is %T", root)
	}
	if v, _ := d.Get("epoch"); v != int64(3) {
		t.Errorf("epoch = %v, want 3", v)
	}
	if v, _ := d.Get("note"); v != "dp" {
		t.Errorf("note = %v, want dp", v)
	}
	sd, err := pth.FindStateDict(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	if len(sd.Keys) != 4 {
		t.Fatalf("keys %v", sd.Keys)
	}
	for i, k := range want {
		if sd.Keys[i] != k {
			t.Fatalf("keys %v, want %v", sd.Keys, want)
		}
	}

	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PyTorch is required in CI: %v", err)
		}
		t.Skip("no /usr/bin/python3 with torch")
	}
	res := filepath.Join(t.TempDir(), "out.npy")
	cmd := exec.Command(py, filepath.Join(fixtures, "../gen/nn_fixtures.py"), "check-model", "simplenet", out,
		filepath.Join(fixtures, "simplenet.pth.in.npy"), res)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("PyTorch could not load the remapped checkpoint: %v\n%s", err, msg)
	}
	got, err := npy.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npy.ReadFile(filepath.Join(fixtures, "simplenet.pth.out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := got.Float32s()
	r, _ := ref.Float32s()
	for i := range r {
		if math.Abs(float64(g[i]-r[i])) > 1e-6 {
			t.Fatalf("output[%d] = %v, PyTorch on the original weights %v", i, g[i], r[i])
		}
	}
}

// TestRulesOrderAndAtomicity: all rule kinds together, and a failing run (a
// collision) leaves an existing OUT untouched.
func TestRulesOrderAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.pth")
	err := Run(&Options{In: filepath.Join(fixtures, "simplenet.pth"), Out: out,
		Rename: []string{`^fc(\d)\.=layer\1.`}, Drop: []string{`^layer2\.bias$`}, AddPrefix: "net."})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pth.LoadStateDict(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"net.layer1.weight", "net.layer1.bias", "net.layer2.weight"}
	if len(sd.Keys) != len(want) {
		t.Fatalf("keys %v, want %v", sd.Keys, want)
	}
	for i := range want {
		if sd.Keys[i] != want[i] {
			t.Fatalf("keys %v, want %v", sd.Keys, want)
		}
	}
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Run(&Options{In: filepath.Join(fixtures, "simplenet.pth"), Out: out, Rename: []string{`^fc\d=same`}})
	if !errors.Is(err, remap.ErrCollision) {
		t.Fatalf("collision: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Fatal("a failed remap touched OUT")
	}
	if err := Run(&Options{In: filepath.Join(fixtures, "simplenet.pth"), Out: out}); err == nil {
		t.Fatal("no rules accepted")
	}
}

func TestCommandWiring(t *testing.T) {
	cmd := NewCmd()
	out := filepath.Join(t.TempDir(), "o.pth")
	var buf bytes.Buffer
	cmd.SetOut(&buf)
	cmd.SetArgs([]string{filepath.Join(fixtures, "simplenet_dp_ckpt.pth"), out, "--strip-prefix", "module.", "--drop", "bias$"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("2 keys renamed, 2 dropped")) {
		t.Fatalf("output %q", buf.String())
	}
}
