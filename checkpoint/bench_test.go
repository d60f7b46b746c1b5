package checkpoint

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The large benchmarks use testdata/fixtures/large/gpt2.pt, written by
// testdata/gen/bench_gen.py (about 500 MB, git-ignored); they skip without it.
// See BENCHMARKS.md for the commands and results.
func gpt2(b *testing.B) (string, int64) {
	p := td("fixtures", "large", "gpt2.pt")
	st, err := os.Stat(p)
	if err != nil {
		b.Skipf("%s not generated (run testdata/gen/bench_gen.py testdata/fixtures/large)", p)
	}
	return p, st.Size()
}

// BenchmarkConvertGPT2ToSafetensors converts the GPT-2 state_dict to safetensors.
func BenchmarkConvertGPT2ToSafetensors(b *testing.B) {
	p, size := gpt2(b)
	out := filepath.Join(b.TempDir(), "gpt2.safetensors")
	b.SetBytes(size)
	for b.Loop() {
		if _, err := Convert(p, out, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopyGPT2 is the baseline: copying the same file, as cp does.
func BenchmarkCopyGPT2(b *testing.B) {
	p, size := gpt2(b)
	out := filepath.Join(b.TempDir(), "gpt2.copy")
	b.SetBytes(size)
	for b.Loop() {
		in, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		o, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(o, in); err != nil {
			b.Fatal(err)
		}
		if err := o.Sync(); err != nil { // Convert syncs its output too
			b.Fatal(err)
		}
		o.Close()
		in.Close()
	}
}

func touchOne(b *testing.B, path, name string) {
	for b.Loop() {
		c, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		t, err := c.Tensor(name)
		if err != nil {
			b.Fatal(err)
		}
		data, err := t.ContiguousBytes()
		if err != nil || len(data) == 0 {
			b.Fatal(err)
		}
		_ = data[len(data)-1]
		c.Close()
	}
}

// BenchmarkOpenTorchTouchOne opens gpt2.pt and reads one tensor's last byte.
func BenchmarkOpenTorchTouchOne(b *testing.B) {
	p, _ := gpt2(b)
	touchOne(b, p, "transformer.h.11.mlp.c_proj.weight")
}

// BenchmarkOpenSafetensorsTouchOne does the same on the converted file.
func BenchmarkOpenSafetensorsTouchOne(b *testing.B) {
	p, _ := gpt2(b)
	out := filepath.Join(b.TempDir(), "gpt2.safetensors")
	if _, err := Convert(p, out, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	touchOne(b, out, "transformer.h.11.mlp.c_proj.weight")
}
