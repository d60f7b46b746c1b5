package modtree_test

import (
	"archive/zip"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// storage stands in for pth's storage loading: a zeroed storage of the dtype and
// size the ('storage', class, key, location, numel) id names, at most 64 KiB.
func storage(id pickle.Value) (pickle.Value, error) {
	dt, n := tensor.Float32, int64(16)
	if t, ok := id.(pickle.Tuple); ok && len(t) >= 5 {
		if g, ok := t[1].(pickle.Global); ok {
			if d, ok := tensor.ParseStorageClass(g.Name); ok {
				dt = d
			}
		}
		if x, ok := t[4].(int64); ok && x >= 0 && x <= 1<<13 {
			n = x
		}
	}
	return tensor.NewStorage(dt, make([]byte, n*int64(dt.Size()))), nil
}

// FuzzParse decodes arbitrary pickles (seeded with the data.pkl of the entire-model
// fixtures; storages are zeroed stand-ins) and recovers module trees from them:
// Parse must return a tree or an error, never panic, and the tree's state_dict,
// JSON and text forms must be producible.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"simplenet_zip.pt", "convbn_zip.pt"} {
		zr, err := zip.OpenReader(filepath.Join(modtreetest.Dir(), name))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range zr.File {
			if strings.HasSuffix(file.Name, "/data.pkl") {
				rc, _ := file.Open()
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := pickle.Unmarshal(b, &pickle.Options{PersistentLoad: storage})
		if err != nil {
			return
		}
		n, err := modtree.Parse(v)
		if err != nil {
			return
		}
		sd := n.StateDict()
		for _, k := range sd.Keys {
			_, _ = sd.Tensors[k].ContiguousBytes()
		}
		if _, err := n.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
		_ = n.Fprint(io.Discard)
	})
}

// TestRawValues parses the data.pkl of the 1.13 entire-model fixtures as the bare
// pickle decoder gives it (OrderedDicts as REDUCE objects with SETITEMS, the set as
// REDUCE(builtins.set, [...]), parameters as _rebuild_parameter calls) and compares
// tree and state_dict keys with PyTorch's record.
func TestRawValues(t *testing.T) {
	models := modtreetest.Load(t, modtreetest.Dir())
	for _, name := range []string{"simplenet", "convbn"} {
		m := models[name]
		zr, err := zip.OpenReader(filepath.Join(modtreetest.Dir(), m.Files["zip"]))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := zr.File[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
		v, err := pickle.Unmarshal(b, &pickle.Options{PersistentLoad: storage})
		if err != nil {
			t.Fatal(err)
		}
		n, err := modtree.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		modtreetest.CheckTree(t, "", n, m.Tree, true)
		keys := n.StateDict().Keys
		if len(keys) != len(m.StateDict.Tensors) {
			t.Fatalf("%s: keys %v", name, keys)
		}
		for i, r := range m.StateDict.Tensors {
			if keys[i] != r.Key {
				t.Errorf("%s: key %d is %s, PyTorch %s", name, i, keys[i], r.Key)
			}
		}
	}
}

// TestLegacyClassForms: in the legacy stream a module's class comes as the persistent
// id ('module', class, source_file, source); the source is never used.
func TestLegacyClassForms(t *testing.T) {
	for _, cls := range []pickle.Value{
		pickle.PersistentID{ID: pickle.Tuple{"module", pickle.Global{Module: "__main__", Name: "Net"}, "/x.py", "class Net: ..."}},
		pickle.Tuple{"module", pickle.Global{Module: "__main__", Name: "Net"}, "/x.py", "class Net: ..."},
	} {
		o := module2x("__main__.Net", true, nil, nil, nil, nil, nil)
		o.Callable = cls
		n, err := modtree.Parse(o)
		if err != nil || n.Class != "__main__.Net" {
			t.Errorf("%T: %v %v", cls, n, err)
		}
	}
}
