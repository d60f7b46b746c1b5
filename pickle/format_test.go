package pickle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSprintPythonRepr compares Sprint with Python's repr() of the same
// plain-data values, recorded by testdata/gen/pickle_golden.py.
func TestSprintPythonRepr(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]struct {
		Repr *string `json:"repr"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, e := range g {
		if e.Repr == nil {
			continue
		}
		n++
		v, err := Unmarshal(readGoldenFile(t, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Sprint(v); got != *e.Repr {
			t.Errorf("%s:\n got  %.300s\n want %.300s", name, got, *e.Repr)
		}
	}
	if n < 10 {
		t.Fatalf("only %d repr entries", n)
	}
}

func TestSprintObjects(t *testing.T) {
	v, err := Unmarshal(readGoldenFile(t, "m_append_on_object.pkl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes written by hand: NEWOBJ of __main__.Bag, APPENDS 1 2, APPEND 3, SETITEM 4:5, SETITEMS 6:7, BUILD {}.
	want := "__main__.Bag.__new__().extend([1, 2, 3]).update({4: 5, 6: 7}).__setstate__({})"
	if got := Sprint(v); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
