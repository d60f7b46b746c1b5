package pth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// The manifest written by testdata/gen/gen_fixtures.py with PyTorch 1.13
// (testdata/fixtures) or 2.6 (testdata/fixtures/torch2): for every fixture,
// what torch.load saw.
type manifest struct {
	TorchVersion string            `json:"torch_version"`
	Fixtures     []manifestFixture `json:"fixtures"`
}

type manifestFixture struct {
	File           string           `json:"file"`
	Format         string           `json:"format"`
	PickleProtocol int              `json:"pickle_protocol"`
	Tensors        []manifestTensor `json:"tensors"`
	Values         []manifestValue  `json:"values"`
	Shared         [][]string       `json:"shared"`
	WeightsOnlyOK  bool             `json:"weights_only_ok"`
	UnsafeGlobals  []string         `json:"unsafe_globals"`
	Large          bool             `json:"large"`
	Containers     []struct {
		Path     string                    `json:"path"`
		Type     string                    `json:"type"`
		Keys     []any                     `json:"keys"`
		Metadata map[string]map[string]any `json:"metadata"`
	} `json:"containers"`
}

// isModel reports whether the fixture is an entire pickled module, whose
// tensor paths are state_dict keys.
func (fx *manifestFixture) isModel() bool {
	if len(fx.Containers) == 0 || fx.Containers[0].Path != "" {
		return false
	}
	switch fx.Containers[0].Type {
	case "dict", "collections.OrderedDict", "list", "tuple", "collections.Counter":
		return false
	}
	return true
}

type manifestTensor struct {
	Path          string  `json:"path"`
	DType         string  `json:"dtype"`
	Shape         []int64 `json:"shape"`
	Stride        []int64 `json:"stride"`
	StorageOffset *int64  `json:"storage_offset"`
	SHA256        *string `json:"sha256"`
	RequiresGrad  bool    `json:"requires_grad"`
	IsParameter   bool    `json:"is_parameter"`
	Location      *string `json:"location"`
	StorageGroup  *int    `json:"storage_group"`
	Layout        string  `json:"layout"`
	PythonType    string  `json:"python_type"`
	// PythonAttrs is the tensor's Python __dict__ as repr() of each value
	// (torch 2.x manifests only: a Parameter saved with _rebuild_parameter_with_state).
	PythonAttrs map[string]string `json:"python_attrs"`
	// Conj and Neg are the conjugate and negative bits of a view (torch 2.x
	// manifests only; the sha256 is of the resolved values).
	Conj        bool            `json:"conj"`
	Neg         bool            `json:"neg"`
	Indices     *manifestTensor `json:"indices"`
	Values      *manifestTensor `json:"values"`
	CrowIndices *manifestTensor `json:"crow_indices"`
	ColIndices  *manifestTensor `json:"col_indices"`
	Quant       *struct {
		QScheme    string    `json:"qscheme"`
		Scale      float64   `json:"scale"`
		ZeroPoint  int64     `json:"zero_point"`
		Scales     []float64 `json:"scales"`
		ZeroPoints []int64   `json:"zero_points"`
		Axis       int       `json:"axis"`
	} `json:"quant"`
}

type manifestValue struct {
	Path  string  `json:"path"`
	Type  string  `json:"type"`
	Repr  string  `json:"repr"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// Fixture manifests written by testdata/gen/gen_fixtures.py: with Debian's
// PyTorch 1.13, and with PyTorch 2.6 (testdata/gen/torch2_chroot.sh).
const (
	manifest113 = "testdata/fixtures/manifest.json"
	manifest2   = "testdata/fixtures/torch2/manifest.json"
)

// loadManifest reads the PyTorch 1.13 manifest.
func loadManifest(t testing.TB) *manifest { return loadManifestFile(t, manifest113) }

// loadManifests reads every committed manifest: the same checks run on the
// files of each PyTorch version, against that version's record.
func loadManifests(t testing.TB) []*manifest {
	return []*manifest{loadManifestFile(t, manifest113), loadManifestFile(t, manifest2)}
}

// torch2 reports whether the manifest was written by PyTorch 2.x.
func (m *manifest) torch2() bool { return strings.HasPrefix(m.TorchVersion, "2.") }

func loadManifestFile(t testing.TB, path string) *manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture manifest: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Fixtures) == 0 {
		t.Fatal("manifest lists no fixtures")
	}
	return &m
}

func sha(t *testing.T, x *tensor.Tensor) string {
	t.Helper()
	b, err := x.ContiguousBytes() // for packed sub-byte dtypes: the packed bytes, as PyTorch's int_repr()
	if err != nil {
		t.Fatalf("bytes: %v", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkTensor compares one tensor with PyTorch's record.
func checkTensor(t *testing.T, where string, x *tensor.Tensor, want *manifestTensor) {
	t.Helper()
	if x.DType.String() != want.DType {
		t.Errorf("%s: dtype %s, PyTorch %s", where, x.DType, want.DType)
	}
	if !equalInts(x.Shape, want.Shape) {
		t.Errorf("%s: shape %v, PyTorch %v", where, x.Shape, want.Shape)
	}
	if want.Stride != nil && !equalInts(x.Strides, want.Stride) {
		t.Errorf("%s: stride %v, PyTorch %v", where, x.Strides, want.Stride)
	}
	if want.StorageOffset != nil && x.Offset != *want.StorageOffset {
		t.Errorf("%s: storage offset %d, PyTorch %d", where, x.Offset, *want.StorageOffset)
	}
	if want.Location != nil && *want.Location != "?" && x.Storage.Location != *want.Location {
		t.Errorf("%s: location %q, PyTorch %q", where, x.Storage.Location, *want.Location)
	}
	if want.SHA256 != nil {
		if got := sha(t, x); got != *want.SHA256 {
			t.Errorf("%s: sha256 %s, PyTorch %s", where, got, *want.SHA256)
		}
	}
	if q := want.Quant; q != nil {
		if x.Quant == nil {
			t.Errorf("%s: not quantized, PyTorch %s", where, q.QScheme)
		} else if x.Quant.Scheme != q.QScheme {
			t.Errorf("%s: qscheme %s, PyTorch %s", where, x.Quant.Scheme, q.QScheme)
		} else if strings.HasPrefix(q.QScheme, "per_tensor") {
			if x.Quant.Scale != q.Scale || x.Quant.ZeroPoint != q.ZeroPoint {
				t.Errorf("%s: scale/zp %v/%v, PyTorch %v/%v", where, x.Quant.Scale, x.Quant.ZeroPoint, q.Scale, q.ZeroPoint)
			}
		} else {
			sc, err1 := x.Quant.Scales.Float64s()
			zp, err2 := x.Quant.ZeroPoints.Int64s()
			if err := errors.Join(err1, err2); err != nil {
				t.Errorf("%s: qparams: %v", where, err)
			} else if !reflect.DeepEqual(sc, q.Scales) || !reflect.DeepEqual(zp, q.ZeroPoints) || x.Quant.Axis != q.Axis {
				t.Errorf("%s: per-channel %v %v axis %d, PyTorch %v %v axis %d", where, sc, zp, x.Quant.Axis, q.Scales, q.ZeroPoints, q.Axis)
			}
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// leaves returns the tree's leaves by Walk path.
func leaves(t *testing.T, root Value) map[string]Value {
	t.Helper()
	m := map[string]Value{}
	if err := Walk(root, func(p string, v Value) error { m[p] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkFixture compares an opened file with PyTorch's record of it.
func checkFixture(t *testing.T, fx *manifestFixture, f *File) {
	t.Helper()
	if string(f.Format) != fx.Format {
		t.Errorf("format %s, manifest %s", f.Format, fx.Format)
	}
	lv := leaves(t, f.Root)
	if fx.isModel() {
		sd, err := FindStateDict(f.Root)
		if err != nil {
			t.Fatalf("state_dict of %s: %v", fx.Containers[0].Type, err)
		}
		if len(sd.Keys) != len(fx.Tensors) {
			t.Errorf("state_dict keys %v, PyTorch has %d tensors", sd.Keys, len(fx.Tensors))
		}
		lv = map[string]Value{}
		for k, x := range sd.Tensors {
			lv[k] = &Parameter{Tensor: x, RequiresGrad: true}
		}
	}
	groups := map[int]*tensor.Storage{}
	for i := range fx.Tensors {
		want := &fx.Tensors[i]
		v, ok := lv[want.Path]
		if !ok {
			t.Errorf("%s: missing (have %d leaves)", want.Path, len(lv))
			continue
		}
		var x *tensor.Tensor
		switch tv := v.(type) {
		case *tensor.Tensor:
			x = tv
			if want.IsParameter {
				t.Errorf("%s: plain tensor, PyTorch has a Parameter", want.Path)
			}
			if tv.RequiresGrad != want.RequiresGrad {
				t.Errorf("%s: requires_grad %v, PyTorch %v", want.Path, tv.RequiresGrad, want.RequiresGrad)
			}
		case *Parameter:
			x = tv.Tensor
			if !want.IsParameter {
				t.Errorf("%s: Parameter, PyTorch has a plain tensor", want.Path)
			}
			if tv.RequiresGrad != want.RequiresGrad {
				t.Errorf("%s: requires_grad %v, PyTorch %v", want.Path, tv.RequiresGrad, want.RequiresGrad)
			}
			if want.PythonAttrs != nil {
				checkAttrs(t, want.Path, tv.State, want.PythonAttrs)
			}
		case *SparseTensor:
			if tv.Layout != "torch."+want.Layout {
				t.Errorf("%s: sparse layout %q, PyTorch %q", want.Path, tv.Layout, want.Layout)
			}
			if !equalInts(tv.Size, want.Shape) {
				t.Errorf("%s: sparse size %v, PyTorch %v", want.Path, tv.Size, want.Shape)
			}
			parts := []*manifestTensor{want.Indices, want.Values}
			if want.Layout != "sparse_coo" {
				parts = []*manifestTensor{want.CrowIndices, want.ColIndices, want.Values}
			}
			if len(parts) != len(tv.Components) {
				t.Errorf("%s: %d components, PyTorch %d", want.Path, len(tv.Components), len(parts))
				continue
			}
			for i, p := range parts {
				if p == nil {
					t.Errorf("%s: manifest lacks component %d", want.Path, i)
					continue
				}
				checkTensor(t, want.Path+"#"+tv.ComponentName(i), tv.Components[i], p)
			}
			continue
		case *SubclassTensor:
			if tv.Type.String() != want.PythonType {
				t.Errorf("%s: subclass %s, PyTorch %q", want.Path, tv.Type, want.PythonType)
			}
			if want.PythonAttrs != nil {
				checkAttrs(t, want.Path, tv.State, want.PythonAttrs)
			}
			x, _ = tv.Tensor.(*tensor.Tensor)
			if x == nil {
				t.Errorf("%s: subclass of %T", want.Path, tv.Tensor)
				continue
			}
		case *MetaTensor:
			if string(tv.DType) != want.DType || !equalInts(tv.Shape, want.Shape) || !equalInts(tv.Strides, want.Stride) || tv.RequiresGrad != want.RequiresGrad {
				t.Errorf("%s: meta %+v, PyTorch %+v", want.Path, tv, want)
			}
			continue
		default:
			t.Errorf("%s: %T, PyTorch has a tensor", want.Path, v)
			continue
		}
		if want.PythonType != "" {
			if _, ok := v.(*SubclassTensor); !ok {
				t.Errorf("%s: %T, PyTorch has a %s", want.Path, v, want.PythonType)
			}
		}
		checkTensor(t, want.Path, x, want)
		if want.StorageGroup != nil {
			if s, ok := groups[*want.StorageGroup]; ok && s != x.Storage {
				t.Errorf("%s: does not share storage group %d", want.Path, *want.StorageGroup)
			}
			groups[*want.StorageGroup] = x.Storage
		}
	}
	// Distinct groups must be distinct storages.
	seen := map[*tensor.Storage]int{}
	for g, s := range groups {
		if h, ok := seen[s]; ok {
			t.Errorf("storage groups %d and %d are one storage", g, h)
		}
		seen[s] = g
	}
	checkContainers(t, fx, f.Root)
	for _, want := range fx.Values {
		if fx.isModel() {
			break // the value is the module's repr
		}
		v, ok := lv[want.Path]
		if !ok {
			t.Errorf("value %s: missing", want.Path)
			continue
		}
		if o, ok := v.(*pickle.Object); ok && want.Type != "argparse.Namespace" {
			// An inert object: its class is what PyTorch's record can tell us.
			if g, ok := o.Callable.(pickle.Global); !ok || g.String() != want.Type {
				t.Errorf("value %s: object of %v, PyTorch %s", want.Path, o.Callable, want.Type)
			}
			continue
		}
		if got := pyRepr(v); got != want.Repr && !strings.HasPrefix(want.Type, "numpy.") {
			t.Errorf("value %s: %s, PyTorch %s (%s)", want.Path, got, want.Repr, want.Type)
		}
		checkNumpy(t, want, v)
	}
}

// TestFixtures checks every committed fixture (PyTorch 1.13's and 2.6's)
// against what that PyTorch's torch.load read from it.
// checkAttrs compares a tensor's saved Python __dict__ with PyTorch's repr of
// each attribute.
func checkAttrs(t *testing.T, where string, state Value, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	if d, ok := state.(*pickle.Dict); ok {
		for _, e := range d.Entries {
			k, _ := e.Key.(string)
			got[k] = pyRepr(e.Value)
		}
	} else if state != nil {
		t.Errorf("%s: Python state %T, PyTorch has attributes %v", where, state, want)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: Python attributes %v, PyTorch %v", where, got, want)
	}
}

func TestFixtures(t *testing.T) {
	for _, m := range loadManifests(t) {
		testFixtures(t, m)
	}
}

func testFixtures(t *testing.T, m *manifest) {
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		if fx.Large {
			continue
		}
		t.Run(strings.TrimPrefix(fx.File, "testdata/fixtures/"), func(t *testing.T) {
			skipGap(t, fx.File)
			f, err := Open(fx.File, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			checkFixture(t, fx, f)

			// The same through NewReader (lazy storages instead of the mapping).
			b, err := os.ReadFile(fx.File)
			if err != nil {
				t.Fatal(err)
			}
			f2, err := NewReader(&readerAt{b}, int64(len(b)), nil)
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			checkFixture(t, fx, f2)
		})
	}
}

// readerAt hides bytes.Reader's concrete type so NewReader cannot map anything.
type readerAt struct{ b []byte }

func (r *readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, errEOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, errEOF
	}
	return n, nil
}

// TestFixturesUnsafeGlobals compares UnsafeGlobals with the globals off each
// PyTorch's weights-only allow-list.
func TestFixturesUnsafeGlobals(t *testing.T) {
	for _, m := range loadManifests(t) {
		testFixturesUnsafeGlobals(t, m)
	}
}

func testFixturesUnsafeGlobals(t *testing.T, m *manifest) {
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		if fx.Large {
			continue
		}
		t.Run(strings.TrimPrefix(fx.File, "testdata/fixtures/"), func(t *testing.T) {
			f, err := Open(fx.File, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			// The manifest lists globals off that PyTorch's allow-list; ours is
			// current PyTorch's, a superset. Every global we call unsafe must be
			// unsafe for that version too. For 2.6, whose list (after the
			// Python 2 name mapping 1.13 lacks) is current PyTorch's, every
			// global it calls unsafe must be unsafe for us as well.
			ours := map[string]bool{}
			for _, g := range f.UnsafeGlobals() {
				ours[g] = true
			}
			theirs := map[string]bool{}
			for _, g := range fx.UnsafeGlobals {
				theirs[g] = true
			}
			for g := range ours {
				if !theirs[g] {
					t.Errorf("we call %s unsafe, PyTorch %s does not", g, m.TorchVersion)
				}
			}
			if m.torch2() {
				for g := range theirs {
					if !ours[g] {
						t.Errorf("PyTorch %s calls %s unsafe, we do not", m.TorchVersion, g)
					}
				}
			}
			all := map[string]bool{}
			for _, g := range f.Globals() {
				all[g] = true
			}
			for g := range theirs {
				if !all[g] {
					t.Errorf("Globals() lacks %s", g)
				}
			}
		})
	}
}

func fixturePath(name string) string { return filepath.Join("testdata", "fixtures", name) }

// TestLargeFixtures checks the torchvision resnet18 / mobilenet_v3_small
// state_dicts (zip and legacy) against PyTorch's record. They are generated by
// testdata/gen/gen_fixtures.py into testdata/fixtures/large (not committed);
// the test skips when they are absent.
func TestLargeFixtures(t *testing.T) {
	b, err := os.ReadFile("testdata/fixtures/large/manifest.json")
	if err != nil {
		t.Skipf("large fixtures not generated: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		t.Run(strings.TrimPrefix(fx.File, "testdata/fixtures/large/"), func(t *testing.T) {
			f, err := Open(fx.File, &Options{WeightsOnly: fx.WeightsOnlyOK})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			checkFixture(t, fx, f)
		})
	}
}

// TestTorchScriptDetected: a torch.jit.save archive is recognised, its data.pkl
// module tree is interpreted, and weights-only mode refuses it as PyTorch does.
func TestTorchScriptDetected(t *testing.T) {
	path := "testdata/models/simplenet_script.pt"
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format != FormatTorchScript {
		t.Fatalf("format %s", f.Format)
	}
	if len(Tensors(f.Root)) != 0 {
		t.Fatalf("the module tree is an inert object; its tensors are not dict leaves")
	}
	if _, err := Open(path, &Options{WeightsOnly: true}); !errors.Is(err, ErrWeightsOnly) || !strings.Contains(err.Error(), "TorchScript") {
		t.Fatalf("weights-only: %v", err)
	}
}

// TestMapLocation: the location tags of cuda.pt (saved from "cuda:0") are kept,
// or rewritten by MapLocation; the bytes are the same.
func TestMapLocation(t *testing.T) {
	path := fixturePath("zip/cuda.pt")
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tags := map[string]bool{}
	for _, nt := range Tensors(f.Root) {
		tags[nt.T.Storage.Location] = true
	}
	if !tags["cuda:0"] {
		t.Fatalf("locations %v lack cuda:0", tags)
	}
	for _, ml := range []any{"cpu", map[string]string{"cuda:0": "cpu"}, func(string) string { return "cpu" }} {
		g, err := Open(path, &Options{MapLocation: ml})
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range Tensors(g.Root) {
			if nt.T.Storage.Location == "cuda:0" {
				t.Errorf("MapLocation %T: %s still on cuda:0", ml, nt.Path)
			}
		}
		g.Close()
	}
	if _, err := Open(path, &Options{MapLocation: 3}); err == nil {
		t.Fatal("MapLocation of an int accepted")
	}
}

// TestContainers checks the hand-built containers of
// testdata/gen/adversarial_containers.py (old legacy view_metadata persistent
// ids, pointer-like storage keys) against what PyTorch 1.13 loaded from them.
func TestContainers(t *testing.T) {
	b, err := os.ReadFile("testdata/containers/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		t.Run(filepath.Base(fx.File), func(t *testing.T) {
			f, err := Open(fx.File, &Options{WeightsOnly: true})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			checkFixture(t, fx, f)
		})
	}
}

// containerAt follows a Walk path to a container (nil if absent).
func containerAt(root Value, path string) Value {
	if path == "" {
		return root
	}
	var found Value
	_ = walkContainers(root, "", func(p string, v Value) {
		if p == path && found == nil {
			found = v
		}
	})
	return found
}

func walkContainers(v Value, path string, fn func(string, Value)) error {
	fn(path, v)
	var entries []pickle.Entry
	var items []Value
	switch x := v.(type) {
	case *pickle.Dict:
		entries = x.Entries
	case *OrderedDict:
		entries = x.Entries
	case *Counter:
		entries = x.Entries
	case *pickle.List:
		items = x.Items
	case pickle.Tuple:
		items = x
	}
	for _, e := range entries {
		_ = walkContainers(e.Value, joinPath(path, e.Key), fn)
	}
	for i, e := range items {
		_ = walkContainers(e, joinPath(path, int64(i)), fn)
	}
	return nil
}

// checkContainers compares container types, key order and state_dict _metadata
// with the record.
func checkContainers(t *testing.T, fx *manifestFixture, root Value) {
	t.Helper()
	for _, c := range fx.Containers {
		v := containerAt(root, c.Path)
		if v == nil {
			t.Errorf("container %q (%s): missing", c.Path, c.Type)
			continue
		}
		var keys []string
		var od *OrderedDict
		switch x := v.(type) {
		case *OrderedDict:
			od = x
			if c.Type != "collections.OrderedDict" {
				t.Errorf("container %q: OrderedDict, PyTorch %s", c.Path, c.Type)
			}
			for _, e := range x.Entries {
				keys = append(keys, pyRepr(e.Key))
			}
		case *pickle.Dict:
			if c.Type != "dict" {
				t.Errorf("container %q: dict, PyTorch %s", c.Path, c.Type)
			}
			for _, e := range x.Entries {
				keys = append(keys, pyRepr(e.Key))
			}
		}
		var want []string
		for _, k := range c.Keys {
			switch x := k.(type) {
			case string:
				want = append(want, pyStr(x))
			case map[string]any:
				want = append(want, fmt.Sprint(x["repr"]))
			}
		}
		if c.Keys != nil && keys != nil && !reflect.DeepEqual(keys, want) {
			t.Errorf("container %q: keys %v, PyTorch %v", c.Path, keys, want)
		}
		if c.Metadata == nil {
			continue
		}
		if od == nil || od.Metadata == nil {
			t.Errorf("container %q: no _metadata, PyTorch has %v", c.Path, c.Metadata)
			continue
		}
		got := map[string]map[string]any{}
		for _, e := range od.Metadata.Entries {
			k, _ := e.Key.(string)
			m := map[string]any{}
			if d, ok := e.Value.(*pickle.Dict); ok {
				for _, f := range d.Entries {
					if n, ok := f.Value.(int64); ok {
						m[joinPath("", f.Key)] = float64(n) // JSON numbers
					} else {
						m[joinPath("", f.Key)] = f.Value
					}
				}
			}
			got[k] = m
		}
		if !reflect.DeepEqual(got, c.Metadata) {
			t.Errorf("container %q: _metadata %v, PyTorch %v", c.Path, got, c.Metadata)
		}
	}
}
