package inspect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
)

// manifest is the record testdata/gen/gen_fixtures.py wrote with real PyTorch.
type manifest struct {
	Fixtures []struct {
		File    string `json:"file"`
		Format  string `json:"format"`
		Tensors []struct {
			Path     string  `json:"path"`
			DType    string  `json:"dtype"`
			Shape    []int64 `json:"shape"`
			SHA256   string  `json:"sha256"`
			Location string  `json:"location"`
		} `json:"tensors"`
		UnsafeGlobals []string `json:"unsafe_globals"`
	} `json:"fixtures"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestJSONMatchesPyTorch checks `pth inspect --json --hash` against what PyTorch
// recorded for every committed fixture: same tensors (by path), dtypes, shapes,
// location tags and sha256 of the contiguous little-endian bytes.
func TestJSONMatchesPyTorch(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "testdata/fixtures/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Fixtures) == 0 {
		t.Fatal("empty manifest")
	}
	for _, fx := range m.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			var out bytes.Buffer
			if err := Run(&Options{Path: filepath.Join(root, fx.File), JSON: true, Hash: true, Out: &out}); err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Report
				Modules json.RawMessage `json:"modules"` // modtree.Node marshals one way only
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out.String())
			}
			if rep.Format != fx.Format {
				t.Errorf("format %q, PyTorch fixture is %q", rep.Format, fx.Format)
			}
			got := map[string]TensorInfo{}
			for _, ti := range rep.Tensors {
				got[ti.Path] = ti
			}
			for _, want := range fx.Tensors {
				ti, ok := got[want.Path]
				if !ok {
					// Sparse tensors are listed by component ("p#indices"); PyTorch records the whole tensor.
					if !strings.Contains(strings.Join(keys(got), " "), want.Path+"#") {
						t.Errorf("tensor %q missing; have %v", want.Path, keys(got))
					}
					continue
				}
				if ti.DType != want.DType || !reflect.DeepEqual(ti.Shape, nonNil(want.Shape)) {
					t.Errorf("%s: %s%v, PyTorch says %s%v", want.Path, ti.DType, ti.Shape, want.DType, want.Shape)
				}
				if want.SHA256 != "" && ti.SHA256 != want.SHA256 {
					t.Errorf("%s: sha256 %s, PyTorch says %s", want.Path, ti.SHA256, want.SHA256)
				}
				if want.Location != "" && want.Location != "?" && ti.Location != want.Location {
					t.Errorf("%s: location %q, PyTorch saved %q", want.Path, ti.Location, want.Location)
				}
			}
			for _, g := range fx.UnsafeGlobals {
				// The manifest records torch 1.13's refusals; we apply current PyTorch's
				// larger allow-list (internal/safeglobals checks it covers 1.13's).
				i := strings.LastIndex(g, ".")
				if safeglobals.WeightsOnlyAllowed(safeglobals.Canonical(g[:i], g[i+1:])) {
					continue
				}
				found := false
				for _, u := range rep.UnsafeGlobals {
					if u == g || "builtins."+u == g {
						found = true
					}
				}
				if !found {
					t.Errorf("unsafe global %s not reported (got %v)", g, rep.UnsafeGlobals)
				}
			}
		})
	}
}

// TestText checks the human table on the training checkpoint: every tensor row, the
// totals, the scalar values and the globals weights_only would refuse.
func TestText(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(repoRoot(t), "testdata/fixtures/zip/checkpoint.pt")
	if err := Run(&Options{Path: path, Out: &out}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"model_state_dict/fc1.weight", "float32", "[5, 10]", "TOTAL (16 tensors)", "epoch", "argparse.Namespace"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestMissingFileNamesIt(t *testing.T) {
	err := Run(&Options{Path: "no/such/file.pt", Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "no/such/file.pt") {
		t.Fatalf("error %v does not name the file", err)
	}
}

func keys(m map[string]TensorInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// TestModelFilesListStateDict checks inspect on entire-model pickles and TorchScript
// archives (testdata/gen/model_fixtures.py): tensors listed under their state_dict keys,
// in PyTorch's order, with PyTorch's dtypes, shapes and sha256, and a module tree
// whose root class is the one PyTorch saved.
func TestModelFilesListStateDict(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "testdata/models/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	type sdRec struct {
		Tensors []struct {
			Key    string  `json:"key"`
			DType  string  `json:"dtype"`
			Shape  []int64 `json:"shape"`
			SHA256 string  `json:"sha256"`
		} `json:"tensors"`
	}
	type treeRec struct {
		Class string `json:"class"`
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"simplenet", "convbn"} {
		var rec struct {
			Files     map[string]string `json:"files"`
			StateDict sdRec             `json:"state_dict"`
			Tree      treeRec           `json:"tree"`
			Script    struct {
				StateDict sdRec   `json:"state_dict"`
				Tree      treeRec `json:"tree"`
			} `json:"script"`
			Trace struct {
				StateDict sdRec   `json:"state_dict"`
				Tree      treeRec `json:"tree"`
			} `json:"trace"`
		}
		if err := json.Unmarshal(m[model], &rec); err != nil {
			t.Fatal(err)
		}
		for kind, file := range rec.Files {
			want, wantTree := rec.StateDict, rec.Tree
			switch kind {
			case "script":
				want, wantTree = rec.Script.StateDict, rec.Script.Tree
			case "trace":
				want, wantTree = rec.Trace.StateDict, rec.Trace.Tree
			}
			t.Run(file, func(t *testing.T) {
				rep, err := Build(filepath.Join(root, "testdata/models", file), true)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Modules == nil {
					t.Fatal("no module tree")
				}
				if rep.Modules.Class != wantTree.Class {
					t.Errorf("root class %q, PyTorch saved %q", rep.Modules.Class, wantTree.Class)
				}
				if len(rep.Tensors) != len(want.Tensors) {
					t.Fatalf("%d tensors, PyTorch's state_dict has %d", len(rep.Tensors), len(want.Tensors))
				}
				for i, w := range want.Tensors {
					g := rep.Tensors[i]
					if g.Path != w.Key || g.DType != w.DType || !reflect.DeepEqual(g.Shape, nonNil(w.Shape)) || g.SHA256 != w.SHA256 {
						t.Errorf("tensor %d: %s %s%v %s; PyTorch: %s %s%v %s", i, g.Path, g.DType, g.Shape, g.SHA256, w.Key, w.DType, w.Shape, w.SHA256)
					}
				}
				var tree bytes.Buffer
				if err := Run(&Options{Path: filepath.Join(root, "testdata/models", file), Tree: true, Out: &tree}); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(tree.String(), wantTree.Class) {
					t.Errorf("--tree output does not start with the root class %q:\n%s", wantTree.Class, tree.String())
				}
			})
		}
	}
}

func TestTreeOnPlainStateDict(t *testing.T) {
	err := Run(&Options{Path: filepath.Join(repoRoot(t), "testdata/fixtures/zip/simplenet.pt"), Tree: true, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "no nn.Module") {
		t.Fatalf("--tree on a state_dict: %v", err)
	}
}

// TestSafetensors: inspect lists a safetensors file written from PyTorch tensors by
// testdata/gen/st_fixtures.py: names in file order, shapes, and the sha256 of the
// bytes the generator recorded in all_dtypes.json.
func TestSafetensors(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "testdata/safetensors/all_dtypes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Order   []string `json:"order"`
		Tensors map[string]struct {
			Hex   string  `json:"hex"`
			Shape []int64 `json:"shape"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	rep, err := Build(filepath.Join(root, "testdata/safetensors/all_dtypes.safetensors"), true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != "safetensors" || len(rep.Tensors) != len(rec.Order) {
		t.Fatalf("format %q with %d tensors; want safetensors with %d", rep.Format, len(rep.Tensors), len(rec.Order))
	}
	for i, name := range rec.Order {
		got, want := rep.Tensors[i], rec.Tensors[name]
		data, err := hex.DecodeString(want.Hex)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got.Path != name || !reflect.DeepEqual(got.Shape, nonNil(want.Shape)) || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("tensor %d: %s %v %s; generator recorded %s %v %x", i, got.Path, got.Shape, got.SHA256, name, want.Shape, sum)
		}
	}
	var out bytes.Buffer
	if err := writeText(&out, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "holds no pickle") {
		t.Errorf("text output does not say the file holds no pickle:\n%s", out.String())
	}
}
