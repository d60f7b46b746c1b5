package torchscript_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/ziptest"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/tensor"
	"github.com/pthkit/pth/torchscript"
)

// TestFixtures reads the scripted and traced archives PyTorch 1.13 and 2.6 wrote and
// compares the state_dict and module tree with what torch.jit.load(file) gave in that
// PyTorch.
func TestFixtures(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkDir(t, dir) })
	}
}

// TestLargeFixtures does the same for torchvision's mobilenet_v3_small and resnet18,
// generated into the git-ignored testdata/fixtures/large/models when PyTorch is at hand.
func TestLargeFixtures(t *testing.T) {
	checkDir(t, modtreetest.Large(t))
}

func checkDir(t *testing.T, dir string) {
	models := modtreetest.Load(t, dir)
	if len(models) == 0 {
		t.Fatal("empty manifest")
	}
	for name, m := range models {
		for _, kind := range []string{"script", "trace"} {
			rec := m.Script
			if kind == "trace" {
				rec = m.Trace
			}
			t.Run(name+"_"+kind, func(t *testing.T) {
				a, err := torchscript.Open(filepath.Join(dir, m.Files[kind]))
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				modtreetest.CheckStateDict(t, a.Module.StateDict(), rec.StateDict)
				modtreetest.CheckTree(t, "", a.Module, rec.Tree, false)
				if kind == "script" {
					// The Final constants in the code are the eager module's hyper-parameters.
					checkConstants(t, "", a.Module, m.Tree)
				}
				if a.Version != "3" {
					t.Errorf("version %q, want 3 (PyTorch 1.13 and 2.6 write 3: no upgraded ops)", a.Version)
				}
			})
		}
	}
}

func checkConstants(t *testing.T, path string, n *modtree.Node, eager modtreetest.TreeRecord) {
	modtreetest.CheckAttrs(t, path, n, eager.Attrs, false)
	for i, c := range n.Children {
		if i < len(eager.Children) {
			checkConstants(t, path+"."+c.Name, c, eager.Children[i])
		}
	}
}

// rezip copies the fixture archive, letting edit change or drop (return nil) records.
func rezip(t *testing.T, name string, edit func(rec string, b []byte) []byte) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(modtreetest.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return ziptest.Rewrite(t, data, func(name string, b []byte) []byte {
		_, rec, _ := strings.Cut(name, "/")
		return edit(rec, b)
	})
}

func TestBrokenArchives(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(rec string, b []byte) []byte
		want error
		msg  string // the error must name the record or construct
	}{
		{"unchanged", func(_ string, b []byte) []byte { return b }, nil, ""},
		{"class without code", func(rec string, b []byte) []byte {
			if rec == "code/__torch__/torch/nn/modules/linear.py" {
				return bytes.Replace(b, []byte("class Linear(Module):"), []byte("class Lineaz(Module):"), 1)
			}
			return b
		}, torchscript.ErrFormat, "__torch__.torch.nn.modules.linear.Linear"},
		{"missing tensor record", func(rec string, b []byte) []byte {
			if rec == "data/2" {
				return nil
			}
			return b
		}, torchscript.ErrFormat, "data/2"},
		{"short tensor record", func(rec string, b []byte) []byte {
			if rec == "data/0" {
				return b[:len(b)-4]
			}
			return b
		}, torchscript.ErrFormat, "data/0"},
		{"no constants", func(rec string, b []byte) []byte {
			if rec == "constants.pkl" {
				return nil
			}
			return b
		}, torchscript.ErrFormat, "constants.pkl"},
		{"custom __getstate__", func(rec string, b []byte) []byte {
			if rec == "code/__torch__.py" {
				return append(b, "  def __getstate__(self: __torch__.SimpleNet) -> int:\n    return 1\n"...)
			}
			return b
		}, torchscript.ErrUnsupported, "__getstate__"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := rezip(t, "simplenet_script.pt", tc.edit)
			_, err := torchscript.Read(bytes.NewReader(b), int64(len(b)))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.msg)
			}
		})
	}
}

// TestConstants reads a traced archive whose literal tensor PyTorch (1.13, 2.6) stored
// in constants.pkl (record constants/0) and compares it with torch's record.
func TestConstants(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { testConstants(t, dir) })
	}
}

func testConstants(t *testing.T, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "constants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		File      string
		Constants []struct {
			DType  string
			Shape  []int64
			SHA256 string
		}
		StateDict modtreetest.StateDictRecord `json:"state_dict"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	a, err := torchscript.Open(filepath.Join(dir, rec.File))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Constants) != len(rec.Constants) {
		t.Fatalf("%d constants, PyTorch %d", len(a.Constants), len(rec.Constants))
	}
	for i, w := range rec.Constants {
		c, ok := a.Constants[i].(*tensor.Tensor)
		if !ok {
			t.Fatalf("constant %d is %T", i, a.Constants[i])
		}
		cb, err := c.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(cb)
		if c.DType.String() != w.DType || fmt.Sprint(c.Shape) != fmt.Sprint(w.Shape) || hex.EncodeToString(sum[:]) != w.SHA256 {
			t.Errorf("constant %d: %s%v %x, PyTorch %s%v %s", i, c.DType, c.Shape, sum, w.DType, w.Shape, w.SHA256)
		}
	}
	modtreetest.CheckStateDict(t, a.Module.StateDict(), rec.StateDict)
}

// TestTypedContainers reads attributes PyTorch pickled through torch.jit._pickle
// (build_intlist, build_doublelist, restore_type_tag) and compares them with the
// values torch.jit.load gave back (PyTorch 1.13 and 2.6).
func TestTypedContainers(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { testTypedContainers(t, dir) })
	}
}

func testTypedContainers(t *testing.T, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "typed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		File      string
		Attrs     map[string]any
		StateDict modtreetest.StateDictRecord `json:"state_dict"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		t.Fatal(err)
	}
	a, err := torchscript.Open(filepath.Join(dir, rec.File))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	modtreetest.CheckAttrs(t, "(root)", a.Module, rec.Attrs, true)
	modtreetest.CheckStateDict(t, a.Module.StateDict(), rec.StateDict)
}
