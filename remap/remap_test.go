package remap

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

type remapCase struct {
	Name        string           `json:"name"`
	Rules       [][]string       `json:"rules"`
	Keys        []string         `json:"keys"`
	Metadata    map[string]int64 `json:"metadata"`
	KeysOut     []string         `json:"keys_out"`
	MetadataOut map[string]int64 `json:"metadata_out"`
}

func rulesOf(t *testing.T, spec [][]string) Rules {
	var rs Rules
	for _, r := range spec {
		switch r[0] {
		case "strip":
			rs = append(rs, StripPrefix(r[1]))
		case "add":
			rs = append(rs, AddPrefix(r[1]))
		case "rename":
			rule, err := ParseRename(r[1] + "=" + r[2])
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, rule)
		case "drop":
			rule, err := Drop(r[1])
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, rule)
		}
	}
	return rs
}

// TestRulesMatchPython compares with torch's consume_prefix_in_state_dict_if_present
// and Python's re.sub/re.search on a DataParallel ConvNet state_dict (testdata/nn/remap.json).
func TestRulesMatchPython(t *testing.T) {
	b, err := os.ReadFile("../testdata/nn/remap.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []remapCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		sd := &pth.StateDict{Keys: c.Keys, Tensors: map[string]*tensor.Tensor{}, Metadata: pickle.NewDict()}
		for i, k := range c.Keys {
			sd.Tensors[k] = tensor.FromInt64(nil, []int64{int64(i)})
		}
		for k, v := range c.Metadata {
			d := pickle.NewDict()
			d.Set("version", v)
			sd.Metadata.Set(k, d)
		}
		out, _, err := rulesOf(t, c.Rules).StateDict(sd)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		got := append([]string{}, out.Keys...)
		want := append([]string{}, c.KeysOut...)
		if c.Name == "strip_module" { // consume_prefix re-inserts keys sorted; pth keeps the order
			sort.Strings(got)
			sort.Strings(want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: keys\n got %q\nwant %q", c.Name, got, want)
		}
		// Each tensor follows its key.
		for i, k := range c.Keys {
			if nk, keep := rulesOf(t, c.Rules).Key(k); keep && out.Tensors[nk] != sd.Tensors[k] {
				t.Errorf("%s: %s's tensor (#%d) is not under %s", c.Name, k, i, nk)
			}
		}
		if c.MetadataOut != nil {
			gotMeta := map[string]int64{}
			for _, e := range out.Metadata.Entries {
				v, _ := e.Value.(*pickle.Dict).Get("version")
				gotMeta[e.Key.(string)] = v.(int64)
			}
			if !reflect.DeepEqual(gotMeta, c.MetadataOut) {
				t.Errorf("%s: _metadata\n got %v\nwant %v", c.Name, gotMeta, c.MetadataOut)
			}
		}
	}
}

func TestCollisionAndBadRules(t *testing.T) {
	sd := &pth.StateDict{Keys: []string{"module.a", "a"}, Tensors: map[string]*tensor.Tensor{
		"module.a": tensor.FromInt64(nil, []int64{1}), "a": tensor.FromInt64(nil, []int64{2})}}
	if _, _, err := (Rules{StripPrefix("module.")}).StateDict(sd); !errors.Is(err, ErrCollision) {
		t.Fatalf("collision: %v", err)
	}
	for _, spec := range []string{"noequals", "=x", "(=x"} {
		if _, err := ParseRename(spec); !errors.Is(err, ErrRule) {
			t.Errorf("ParseRename(%q): %v", spec, err)
		}
	}
	if _, err := Drop("("); !errors.Is(err, ErrRule) {
		t.Errorf("Drop(\"(\"): %v", err)
	}
}

// TestTreeKeepsOtherValues: in a nested checkpoint only the state_dict's keys change.
func TestTreeKeepsOtherValues(t *testing.T) {
	w := tensor.FromFloat32([]int64{2}, []float32{1, 2})
	sd := pth.NewOrderedDict()
	sd.Set("module.fc.weight", w)
	sd.Metadata = pickle.NewDict()
	sd.Metadata.Set("module.fc", pickle.NewDict())
	opt := pickle.NewDict()
	opt.Set(int64(0), w) // optimizer state: int keys, not a state_dict
	root := pickle.NewDict()
	root.Set("epoch", int64(3))
	root.Set("state_dict", sd)
	root.Set("optimizer", opt)
	root.Set("history", &pickle.List{Items: []pickle.Value{1.5, "x"}})
	nv, changes, err := (Rules{StripPrefix("module.")}).Tree(root)
	if err != nil {
		t.Fatal(err)
	}
	nr := nv.(*pickle.Dict)
	if v, _ := nr.Get("epoch"); v != int64(3) {
		t.Fatalf("epoch %v", v)
	}
	nsd, _ := nr.Get("state_dict")
	od := nsd.(*pth.OrderedDict)
	if got, ok := od.Get("fc.weight"); !ok || got != w {
		t.Fatalf("state_dict not remapped: %v", od.Entries)
	}
	if _, ok := od.Metadata.Get("fc"); !ok {
		t.Fatal("_metadata prefix not remapped")
	}
	no, _ := nr.Get("optimizer")
	if v, _ := no.(*pickle.Dict).Get(int64(0)); v != w {
		t.Fatal("optimizer state changed")
	}
	if len(changes) != 1 || changes[0].From != "state_dict/module.fc.weight" || changes[0].To != "state_dict/fc.weight" {
		t.Fatalf("changes %+v", changes)
	}
	if _, ok := sd.Get("module.fc.weight"); !ok {
		t.Fatal("input tree was modified")
	}
}

// TestLoadStateDict: remapping while loading PyTorch's DataParallel-style checkpoint.
func TestLoadStateDict(t *testing.T) {
	sd, err := LoadStateDict("../testdata/nn/simplenet_dp_ckpt.pth", Rules{StripPrefix("module.")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	if !reflect.DeepEqual(sd.Keys, want) {
		t.Fatalf("keys %v, want %v", sd.Keys, want)
	}
	if sd.Tensors["fc1.weight"] == nil || sd.Tensors["fc1.weight"].Shape[0] != 5 {
		t.Fatal("fc1.weight missing or misshapen")
	}
}
