package safeglobals

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestCoversPyTorchAllowList checks that every global PyTorch's own weights-only
// unpickler allows (recorded from the installed torch by
// testdata/gen/weights_only_allowlist.py) is allowed here too.
func TestCoversPyTorchAllowList(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_allowed.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Version string   `json:"torch_version"`
		Allowed []string `json:"allowed"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Allowed) < 50 {
		t.Fatalf("recorded allow-list has only %d names", len(rec.Allowed))
	}
	for _, full := range rec.Allowed {
		i := strings.LastIndex(full, ".")
		if !WeightsOnlyAllowed(full[:i], full[i+1:]) {
			t.Errorf("torch %s allows %s, we do not", rec.Version, full)
		}
	}
}

func TestBlockedAndUnknown(t *testing.T) {
	for _, g := range [][2]string{{"os", "system"}, {"posix", "system"}, {"nt", "system"}, {"sys", "modules"},
		{"builtins", "eval"}, {"__main__", "SimpleNet"}, {"argparse", "Namespace"}, {"torch.nn.modules.linear", "Linear"},
		{"numpy.core.multiarray", "_reconstruct"}} {
		if WeightsOnlyAllowed(g[0], g[1]) {
			t.Errorf("%s.%s must not be allowed", g[0], g[1])
		}
	}
}

// TestCanonical checks mappings documented in CPython's Lib/_compat_pickle.py.
func TestCanonical(t *testing.T) {
	cases := []struct{ m, n, wm, wn string }{
		{"__builtin__", "set", "builtins", "set"},
		{"__builtin__", "eval", "builtins", "eval"},
		{"__builtin__", "xrange", "builtins", "range"},
		{"copy_reg", "_reconstructor", "copyreg", "_reconstructor"},
		{"exceptions", "ValueError", "builtins", "ValueError"},
		{"commands", "getoutput", "subprocess", "getoutput"},
		{"torch.tensor", "Tensor", "torch._tensor", "Tensor"},
		{"collections", "OrderedDict", "collections", "OrderedDict"},
	}
	for _, c := range cases {
		m, n := Canonical(c.m, c.n)
		if m != c.wm || n != c.wn {
			t.Errorf("Canonical(%s, %s) = %s, %s; want %s, %s", c.m, c.n, m, n, c.wm, c.wn)
		}
	}
	if got := DisplayName("builtins", "set"); got != "set" {
		t.Errorf("DisplayName = %q", got)
	}
}
