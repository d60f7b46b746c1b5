package nn

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

const fixtureDir = "../testdata/nn"

// loadNPZStateDict reads a state_dict numpy-saved by the fixture generator
// (member order = state_dict order) and attaches the given _metadata.
func loadNPZStateDict(t testing.TB, name string, meta map[string]int64, metaOrder []string) *pth.StateDict {
	t.Helper()
	arrays, err := npy.ReadNPZFile(filepath.Join(fixtureDir, name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	sd := &pth.StateDict{Tensors: map[string]*tensor.Tensor{}}
	for _, a := range arrays {
		sd.Keys = append(sd.Keys, a.Name)
		sd.Tensors[a.Name] = a.Tensor
	}
	if meta != nil {
		sd.Metadata = pickle.NewDict()
		for _, k := range metaOrder {
			d := pickle.NewDict()
			d.Set("version", meta[k])
			sd.Metadata.Set(k, d)
		}
	}
	return sd
}

func mustNpy(t testing.TB, path string) *tensor.Tensor {
	t.Helper()
	x, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func readNpy(t testing.TB, name string) *Tensor {
	t.Helper()
	x, err := npy.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ToFloat32(x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func assertClose(t testing.TB, what string, got, want *Tensor, tol float64) {
	t.Helper()
	if !sameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, PyTorch %v", what, got.Shape, want.Shape)
	}
	worst, at := 0.0, -1
	for i := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(want.Data[i]))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tol || (at >= 0 && math.IsNaN(worst)) {
		t.Fatalf("%s: max abs diff %g at %d (got %v, PyTorch %v), tolerance %g", what, worst, at, got.Data[at], want.Data[at], tol)
	}
}

// orderedMeta decodes a JSON object keeping key order.
type orderedMeta struct {
	Keys   []string
	Values map[string]int64
}

func (m *orderedMeta) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytesReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	m.Values = map[string]int64{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v int64
		if err := dec.Decode(&v); err != nil {
			return err
		}
		m.Keys = append(m.Keys, k.(string))
		m.Values[k.(string)] = v
	}
	return nil
}

// python returns the interpreter with torch, or skips (fails under CI) without one.
func python(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PyTorch is required in CI: %v", err)
		}
		t.Skip("no /usr/bin/python3 with torch")
	}
	return py
}

// metaOf flattens a StateDict's _metadata to prefix → version, in order.
func metaOf(t testing.TB, sd *pth.StateDict) ([]string, map[string]int64) {
	t.Helper()
	var keys []string
	vals := map[string]int64{}
	for _, e := range sd.Metadata.Entries {
		k := e.Key.(string)
		d := e.Value.(*pickle.Dict)
		v, _ := d.Get("version")
		keys = append(keys, k)
		vals[k] = v.(int64)
		if d.Len() != 1 {
			t.Fatalf("_metadata[%q] has %d entries, PyTorch writes only version", k, d.Len())
		}
	}
	return keys, vals
}
