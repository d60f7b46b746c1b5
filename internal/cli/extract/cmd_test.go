package extract_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/internal/cli/extract"
	"github.com/pthkit/pth/modtree/modfile"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestCommand runs `pth extract` through its cobra command and reads the output back
// with pth.LoadStateDict; the keys must be PyTorch's.
func TestCommand(t *testing.T) {
	m := modtreetest.Load(t, modtreetest.Dir())["simplenet"]
	out := filepath.Join(t.TempDir(), "sd.pt")
	cmd := extract.NewCmd()
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{filepath.Join(modtreetest.Dir(), m.Files["legacy"]), out})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "4 tensors from the entire-model pickle") {
		t.Errorf("log: %q", stderr.String())
	}
	sd, err := pth.LoadStateDict(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.Keys) != len(m.StateDict.Tensors) {
		t.Fatalf("keys %v, PyTorch's record %v", sd.Keys, m.StateDict.Tensors)
	}
	for i, r := range m.StateDict.Tensors {
		if i >= len(sd.Keys) || sd.Keys[i] != r.Key {
			t.Fatalf("keys %v, PyTorch's record %v", sd.Keys, m.StateDict.Tensors)
		}
	}

	cmd = extract.NewCmd()
	cmd.SetArgs([]string{"only-one-arg"})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Error("one argument accepted")
	}
}

// TestNotAModel: a file that is already a state_dict is refused with ErrNoModule, and
// nothing is written.
func TestNotAModel(t *testing.T) {
	src := filepath.Join(modtreetest.Dir(), "..", "fixtures", "zip", "convnet.pt")
	out := filepath.Join(t.TempDir(), "sd.pt")
	err := extract.Run(&extract.Options{Model: src, Out: out})
	if !errors.Is(err, modfile.ErrNoModule) {
		t.Fatalf("got %v, want ErrNoModule", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written: %v", err)
	}
}
