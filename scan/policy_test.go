package scan

import (
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
)

// TestAllowListIsSafe: every global PyTorch's weights-only unpickler allows
// (internal/safeglobals, checked there against torch's own list) is Safe: the
// scanner never calls dangerous or unknown what torch.load(weights_only=True) loads.
func TestAllowListIsSafe(t *testing.T) {
	names := safeglobals.AllowedNames()
	if len(names) < 50 {
		t.Fatalf("only %d allowed names", len(names))
	}
	for _, full := range names {
		i := len(full) - 1
		for i >= 0 && full[i] != '.' {
			i--
		}
		if c, why := Classify(full[:i], full[i+1:]); c != Safe {
			t.Errorf("%s: %s (%s)", full, c, why)
		}
	}
}

// TestClassifyCases pins the judgement of constructs the corpus does not cover.
func TestClassifyCases(t *testing.T) {
	for _, c := range []struct {
		module, name string
		want         Class
	}{
		{"__builtin__", "eval", Dangerous},      // Python 2 spelling, via _compat_pickle
		{"cPickle", "loads", Dangerous},         // → pickle.loads
		{"copy_reg", "_reconstructor", Unknown}, // → copyreg: object rebuilding, not code
		{"posix", "system", Dangerous},          // blocked module
		{"os.path", "join", Dangerous},          // the whole os tree
		{"builtins", "object.__subclasses__", Dangerous},
		{"collections", "OrderedDict.__init__", Dangerous},
		{"collections", "OrderedDict.fromkeys", Unknown}, // dotted but plain
		{"torch.nn.modules.linear", "Linear", Unknown},
		{"__torch__.torch.nn.modules.linear", "Linear", Unknown},
		{"__main__", "SimpleNet", Unknown},
		{"argparse", "Namespace", Unknown},
		{"numpy.dtypes", "Float64DType", Safe},
		{"numpy._core.multiarray", "_reconstruct", Safe},
		{"joblib.numpy_pickle", "NumpyArrayWrapper", Safe},
		{"joblib.numpy_pickle", "NDArrayWrapper", Dangerous},
		{"torch.jit._pickle", "restore_type_tag", Safe},
		{"operator", "itemgetter", Dangerous},
		{"operator", "add", Unknown},
		{"ossystem", "x", Unknown}, // a prefix match must stop at a dot
		{"my-plugin", "hook", Unknown},
	} {
		if got, why := Classify(c.module, c.name); got != c.want {
			t.Errorf("%s.%s: %s (%s), want %s", c.module, c.name, got, why, c.want)
		}
	}
}
