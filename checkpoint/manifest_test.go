package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pthkit/pth/gguf"
	"github.com/pthkit/pth/safetensors"
)

// manifest is testdata/fixtures/manifest.json, written by the fixture
// engineer's gen_fixtures.py from what torch.load returns.
type manifest struct {
	Fixtures []struct {
		File    string
		Format  string
		Tensors []struct {
			Path   string
			DType  string
			Shape  []int64
			SHA256 *string
			Quant  any
			Layout string
		}
		Shared [][]string
	}
}

// TestManifestFixtures converts every PyTorch fixture to safetensors and
// checks each tensor's bytes against the SHA-256 PyTorch recorded, and the
// storage-sharing groups against those PyTorch saw.
func TestManifestFixtures(t *testing.T) {
	raw, err := os.ReadFile(td("fixtures", "manifest.json"))
	if err != nil {
		t.Skipf("fixture manifest not present: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	compared := 0
	for _, fx := range m.Fixtures {
		in := filepath.Join("..", fx.File)
		src, err := Open(in)
		if err != nil {
			t.Errorf("%s: %v", fx.File, err)
			continue
		}
		prefix := ""
		if tc, ok := src.(*torchCheckpoint); ok {
			prefix = tc.prefix
		}
		out := filepath.Join(dir, "x.safetensors")
		r, err := ConvertFrom(src, out, Options{SkipUnsupported: true})
		src.Close()
		if err != nil {
			t.Errorf("%s: %v", fx.File, err)
			continue
		}
		f, err := safetensors.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		dropped := map[string]bool{}
		for _, d := range r.Dropped {
			dropped[strings.Fields(d)[0]] = true
		}
		written := map[string]bool{}
		for _, tt := range fx.Tensors {
			name := strings.TrimPrefix(tt.Path, prefix)
			if tt.SHA256 == nil || tt.Quant != nil || tt.Layout != "" {
				continue
			}
			if dropped[name] {
				if tt.DType != "complex128" { // the one dtype safetensors lacks
					t.Errorf("%s: %s (%s) dropped", fx.File, name, tt.DType)
				}
				continue
			}
			b, err := f.Data(name)
			if err != nil {
				t.Errorf("%s: %s: %v (dropped: %v)", fx.File, name, err, r.Dropped)
				continue
			}
			written[tt.Path] = true
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != *tt.SHA256 {
				t.Errorf("%s: %s: bytes differ from PyTorch's", fx.File, name)
			}
			compared++
		}
		f.Close()
		// Sharing groups among the tensors written, as PyTorch saw them.
		var want []string
		for _, g := range fx.Shared {
			var kept []string
			for _, p := range g {
				if written[p] {
					kept = append(kept, strings.TrimPrefix(p, prefix))
				}
			}
			if len(kept) > 1 {
				sort.Strings(kept)
				want = append(want, strings.Join(kept, ","))
			}
		}
		var got []string
		for _, g := range r.Shared {
			var kept []string
			for _, n := range g {
				if written[prefix+n] {
					kept = append(kept, n)
				}
			}
			if len(kept) > 1 {
				sort.Strings(kept)
				got = append(got, strings.Join(kept, ","))
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("%s: shared %q, PyTorch %q", fx.File, got, want)
		}
	}
	if compared < 100 {
		t.Errorf("only %d tensors compared", compared)
	}
}

// TestSections: stored little-endian data is copied as file sections (no
// mapping touched); big-endian files go through pth's byte swap instead.
func TestSections(t *testing.T) {
	for path, want := range map[string]bool{
		td("safetensors", "all_dtypes.pt"):           true,
		td("safetensors", "all_dtypes.safetensors"):  true,
		td("safetensors", "sharded"):                 true,
		td("gguf", "default_align.gguf"):             true,
		td("fixtures", "zip", "byteorder_big.pt"):    false,
		td("fixtures", "legacy", "dtypes.pt"):        false,
		td("safetensors", "sharded", "model.npz"):    false,
		td("fixtures", "zip", "byteorder_little.pt"): true,
	} {
		c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range c.Names() {
			in, _ := c.Info(n)
			tt, _ := c.Tensor(n)
			sec, ok := sectionFor(c, n, in.DType)
			if ok != (want && tt.IsContiguous()) {
				t.Errorf("%s: %s: section %v, want %v", path, n, ok, want)
			}
			if ok {
				b, _ := tt.ContiguousBytes()
				got := make([]byte, sec.Size())
				if _, err := sec.ReadAt(got, 0); err != nil && len(got) > 0 || string(got) != string(b) {
					t.Errorf("%s: %s: section bytes differ", path, n)
				}
			}
		}
		c.Close()
	}
}

// TestTrainingCheckpointScalars: a training checkpoint's scalars (epoch,
// loss, optimizer hyper-parameters) become safetensors metadata whose text
// is Python's repr as PyTorch recorded it, and typed GGUF values; None and
// other objects are reported as dropped.
func TestTrainingCheckpointScalars(t *testing.T) {
	raw, err := os.ReadFile(td("fixtures", "manifest.json"))
	if err != nil {
		t.Skipf("fixture manifest not present: %v", err)
	}
	var m struct {
		Fixtures []struct {
			File   string
			Values []struct{ Path, Type, Repr string }
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, fx := range m.Fixtures {
		if fx.File != "testdata/fixtures/zip/checkpoint.pt" {
			continue
		}
		dir := t.TempDir()
		st := filepath.Join(dir, "c.safetensors")
		r, err := Convert(filepath.Join("..", fx.File), st, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		gg := filepath.Join(dir, "c.gguf")
		if _, err := Convert(filepath.Join("..", fx.File), gg, Options{}); err != nil {
			t.Fatal(err)
		}
		g, err := gguf.Open(gg)
		if err != nil {
			t.Fatal(err)
		}
		dropped := strings.Join(r.Dropped, "\n")
		n := 0
		for _, v := range fx.Values {
			switch v.Type {
			case "int", "float", "bool", "str":
				n++
				if got := f.Metadata[v.Path]; got != v.Repr {
					t.Errorf("%s: metadata %q, PyTorch repr %q", v.Path, got, v.Repr)
				}
				gv, ok := g.Get(v.Path)
				if !ok || scalarText(gv) != v.Repr {
					t.Errorf("%s: GGUF value %v (%T), PyTorch repr %q", v.Path, gv, gv, v.Repr)
				}
			default:
				if !strings.Contains(dropped, "value "+v.Path+" (") {
					t.Errorf("%s (%s) not reported as dropped:\n%s", v.Path, v.Type, dropped)
				}
			}
		}
		f.Close()
		g.Close()
		if n < 10 {
			t.Errorf("only %d scalars checked", n)
		}
		return
	}
	t.Fatal("zip/checkpoint.pt not in the manifest")
}

// TestUnsafeGlobalsWarned: converting a file whose pickle references globals
// outside the weights-only allow-list (pth's, after current PyTorch) warns,
// naming every one; the entire-model fixture (__main__.SimpleNet, which
// torch 1.13's allow-list refuses too, per the manifest) is among them.
func TestUnsafeGlobalsWarned(t *testing.T) {
	files, _ := filepath.Glob(td("fixtures", "*", "*.pt"))
	sawModel := false
	for _, p := range files {
		c, err := Open(p)
		if err != nil {
			continue
		}
		g := UnsafeGlobals(c)
		c.Close()
		if len(g) == 0 {
			continue
		}
		r, err := Convert(p, filepath.Join(t.TempDir(), "x.safetensors"), Options{SkipUnsupported: true})
		if err != nil {
			continue
		}
		for _, name := range g {
			if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], name) {
				t.Errorf("%s: warnings %q lack %s", p, r.Warnings, name)
			}
		}
		if strings.HasSuffix(p, filepath.Join("zip", "model.pt")) && strings.Contains(r.Warnings[0], "__main__.SimpleNet") {
			sawModel = true
		}
	}
	if !sawModel {
		t.Error("zip/model.pt was not warned about __main__.SimpleNet")
	}
}

// TestEntireModelPickle: torch.save(model) files convert to the module's
// state_dict, byte for byte what PyTorch's model.state_dict() held.
func TestEntireModelPickle(t *testing.T) {
	raw, err := os.ReadFile(td("fixtures", "manifest.json"))
	if err != nil {
		t.Skipf("fixture manifest not present: %v", err)
	}
	var m struct {
		Fixtures []struct {
			File            string
			ModuleStateDict []struct {
				Path   string
				SHA256 string
			} `json:"module_state_dict"`
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fx := range m.Fixtures {
		if len(fx.ModuleStateDict) == 0 {
			continue
		}
		out := filepath.Join(t.TempDir(), "m.safetensors")
		r, err := Convert(filepath.Join("..", fx.File), out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Tensors != len(fx.ModuleStateDict) {
			t.Errorf("%s: %d tensors, PyTorch's state_dict has %d", fx.File, r.Tensors, len(fx.ModuleStateDict))
		}
		f, err := safetensors.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range fx.ModuleStateDict {
			b, err := f.Data(e.Path)
			sum := sha256.Sum256(b)
			if err != nil || hex.EncodeToString(sum[:]) != e.SHA256 {
				t.Errorf("%s: %s: %v, bytes differ from PyTorch's", fx.File, e.Path, err)
			}
			n++
		}
		f.Close()
	}
	if n == 0 {
		t.Error("no entire-model fixture")
	}
}
