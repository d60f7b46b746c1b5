package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pthkit/pth/tensor"
)

// TestConvertConjNeg converts PyTorch 2.6's conjugate and negative views
// (testdata/fixtures/torch2/*/conj_neg.pt) to every format that can hold
// their dtypes. Formats without the bits get the resolved values, PyTorch's
// own (the manifest's sha256 is of x.resolve_conj().resolve_neg()); a
// PyTorch file keeps the stored bytes and the bits.
func TestConvertConjNeg(t *testing.T) {
	mb, err := os.ReadFile("../testdata/fixtures/torch2/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Fixtures []struct {
			File    string
			Tensors []struct {
				Path      string
				SHA256    string
				Conj, Neg bool
			}
		}
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fx := range m.Fixtures {
		if filepath.Base(fx.File) != "conj_neg.pt" {
			continue
		}
		in := filepath.Join("..", fx.File)
		for _, ext := range []string{".safetensors", ".npz", ".pt"} {
			out := filepath.Join(t.TempDir(), "x"+ext)
			if _, err := Convert(in, out, Options{}); err != nil {
				t.Fatalf("%s → %s: %v", fx.File, ext, err)
			}
			c, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range fx.Tensors {
				x, err := c.Tensor(want.Path)
				if err != nil {
					t.Fatalf("%s → %s: %v", fx.File, ext, err)
				}
				b, err := x.ContiguousBytes()
				if err != nil {
					t.Fatal(err)
				}
				h := sha256.Sum256(b)
				if got := hex.EncodeToString(h[:]); got != want.SHA256 {
					t.Errorf("%s → %s: %s: sha256 %s, PyTorch %s", fx.File, ext, want.Path, got, want.SHA256)
				}
				if ext == ".pt" && (x.Conj != want.Conj || x.Neg != want.Neg) {
					t.Errorf("%s → %s: %s: conj %v neg %v, PyTorch conj %v neg %v", fx.File, ext, want.Path, x.Conj, x.Neg, want.Conj, want.Neg)
				}
				n++
			}
			c.Close()
		}
		// A cast makes new storages of resolved values, without the bits.
		out := filepath.Join(t.TempDir(), "half.pt")
		if _, err := Convert(in, out, Options{DType: tensor.Float16}); err != nil {
			t.Fatal(err)
		}
		src, err := Open(in)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(out)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := src.Tensor("neg")
		want, err := x.Convert(tensor.Float16)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Tensor("neg")
		if err != nil {
			t.Fatal(err)
		}
		if got.Neg || got.Conj || !tensor.Equal(got, want) {
			t.Errorf("%s → float16: neg %v, want the negated values %v", fx.File, got.Neg, want)
		}
		src.Close()
		c.Close()
	}
	if n != 18 {
		t.Fatalf("checked %d tensors, want 18", n)
	}
}
