package modtree_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestEntireModels reads torch.save(model) files (zip and legacy stream; PyTorch 1.13's
// OrderedDict layout and PyTorch 2.6's plain dicts) through pth.Open and compares the
// recovered tree and state_dict with what that PyTorch recorded for the model in memory.
func TestEntireModels(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkEntireModels(t, dir) })
	}
}

// TestLargeEntireModels does the same for torchvision's mobilenet_v3_small and resnet18.
func TestLargeEntireModels(t *testing.T) {
	checkEntireModels(t, modtreetest.Large(t))
}

func checkEntireModels(t *testing.T, dir string) {
	models := modtreetest.Load(t, dir)
	for name, m := range models {
		for _, kind := range []string{"zip", "legacy"} {
			t.Run(name+"_"+kind, func(t *testing.T) {
				f, err := pth.Open(filepath.Join(dir, m.Files[kind]), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				n, err := modtree.Parse(f.Root)
				if err != nil {
					t.Fatal(err)
				}
				modtreetest.CheckTree(t, "", n, m.Tree, true)
				modtreetest.CheckStateDict(t, n.StateDict(), m.StateDict)
			})
		}
	}
}

// TestJSON checks the JSON form against PyTorch's record of the same tree: names,
// classes, parameter and buffer names at every level, hyper-parameters, dtypes.
func TestJSON(t *testing.T) {
	m := modtreetest.Load(t, modtreetest.Dir())["convbn"]
	f, err := pth.Open(filepath.Join(modtreetest.Dir(), m.Files["zip"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, ok := modtree.FromValue(f.Root)
	if !ok {
		t.Fatal("not a module")
	}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	type jt struct {
		Name       string
		DType      string
		Shape      []int64
		Persistent *bool
	}
	type jn struct {
		Name, Class         string
		Training            *bool
		Attrs               map[string]any
		Parameters, Buffers []jt
		Children            []jn
	}
	var got jn
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	sd := map[string]string{}
	for _, r := range m.StateDict.Tensors {
		sd[r.Key] = fmt.Sprint(r.DType, r.Shape)
	}
	var walk func(path string, g jn, w modtreetest.TreeRecord)
	walk = func(path string, g jn, w modtreetest.TreeRecord) {
		if g.Name != w.Name || g.Class != w.Class || g.Training == nil || *g.Training != w.Training || g.Attrs == nil {
			t.Errorf("%q: %s %s, PyTorch %s %s", path, g.Name, g.Class, w.Name, w.Class)
		}
		for i, p := range g.Parameters {
			key := strings.TrimPrefix(path+"."+p.Name, ".")
			if i >= len(w.Parameters) || p.Name != w.Parameters[i] || fmt.Sprint(p.DType, p.Shape) != sd[key] || p.Persistent != nil {
				t.Errorf("parameter %s: %+v (PyTorch %s)", key, p, sd[key])
			}
		}
		for i, p := range g.Buffers {
			key := strings.TrimPrefix(path+"."+p.Name, ".")
			if i >= len(w.Buffers) || p.Name != w.Buffers[i] || p.Persistent == nil {
				t.Errorf("buffer %s: %+v", key, p)
			} else if *p.Persistent != (sd[key] != "") {
				t.Errorf("buffer %s: persistent %v, PyTorch's state_dict has it: %v", key, *p.Persistent, sd[key] != "")
			}
		}
		if len(g.Children) != len(w.Children) {
			t.Fatalf("%q: %d children, PyTorch %d", path, len(g.Children), len(w.Children))
		}
		for i := range g.Children {
			walk(strings.TrimPrefix(path+"."+g.Children[i].Name, "."), g.Children[i], w.Children[i])
		}
	}
	walk("", got, m.Tree)
}
