package nn

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

type loadOutcome struct {
	Error      *string  `json:"error"`
	Missing    []string `json:"missing"`
	Unexpected []string `json:"unexpected"`
}

type mismatchPair struct {
	Name      string      `json:"name"`
	Source    string      `json:"source"`
	Metadata  orderedMeta `json:"metadata"`
	Strict    loadOutcome `json:"strict"`
	NonStrict loadOutcome `json:"nonstrict"`
}

var mismatchTargets = map[string]func() Module{
	"simplenet_into_wide":    func() Module { return NewSimpleNetWide() },
	"convnet_edited":         func() Module { return NewConvNet() },
	"convnet_old_bn":         func() Module { return NewConvNet() },
	"convnet_v2_missing_nbt": func() Module { return NewConvNet() },
}

// TestLoadStateDictMatchesPyTorch: for each mismatched pair, strict and non-strict
// loading give exactly PyTorch's error message or missing/unexpected lists.
func TestLoadStateDictMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "mismatch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pairs []mismatchPair
	if err := json.Unmarshal(b, &pairs); err != nil {
		t.Fatal(err)
	}
	if len(pairs) != len(mismatchTargets) {
		t.Fatalf("%d pairs, %d Go targets", len(pairs), len(mismatchTargets))
	}
	for _, p := range pairs {
		for _, strict := range []bool{true, false} {
			want := p.NonStrict
			if strict {
				want = p.Strict
			}
			var meta map[string]int64
			if p.Metadata.Values != nil {
				meta = p.Metadata.Values
			}
			sd := loadNPZStateDict(t, p.Source+".sd", meta, p.Metadata.Keys)
			m := mismatchTargets[p.Name]()
			missing, unexpected, err := m.Module().LoadStateDict(sd, strict)
			if want.Error != nil {
				var le *LoadError
				if !errors.As(err, &le) {
					t.Fatalf("%s strict=%v: error %v, PyTorch raised\n%s", p.Name, strict, err, *want.Error)
				}
				if err.Error() != *want.Error {
					t.Errorf("%s strict=%v:\n got %q\nwant %q", p.Name, strict, err.Error(), *want.Error)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s strict=%v: %v; PyTorch loaded it", p.Name, strict, err)
			}
			if !reflect.DeepEqual(nonNil(missing), nonNil(want.Missing)) || !reflect.DeepEqual(nonNil(unexpected), nonNil(want.Unexpected)) {
				t.Errorf("%s strict=%v: missing %q unexpected %q; PyTorch %q %q", p.Name, strict, missing, unexpected, want.Missing, want.Unexpected)
			}
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestNonStrictLoadsTheRest: keys that match are loaded even when others are missing.
func TestNonStrictLoadsTheRest(t *testing.T) {
	sd := loadNPZStateDict(t, "convnet.sd", nil, nil)
	delete(sd.Tensors, "head.3.bias")
	m := NewConvNet()
	missing, _, err := m.LoadStateDict(sd, false)
	if err != nil || len(missing) != 1 || missing[0] != "head.3.bias" {
		t.Fatalf("missing %v, err %v", missing, err)
	}
	want, _ := ToFloat32(sd.Tensors["conv1.weight"])
	assertClose(t, "conv1.weight loaded", m.Conv1.Weight, want, 0)
}
