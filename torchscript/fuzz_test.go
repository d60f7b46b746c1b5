package torchscript

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary archives to Read: it must return an error or an archive,
// never panic, and stay within its memory bounds. The corpus is every fixture.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*_*.pt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		sd := a.Module.StateDict()
		for _, k := range sd.Keys {
			t := sd.Tensors[k]
			// A valid view may repeat elements (stride 0) far beyond the archive's
			// size; copying those out is the caller's decision, not the reader's.
			if t.Numel() <= 1<<20 {
				_, _ = t.ContiguousBytes()
			}
		}
	})
}

// FuzzParseCode feeds arbitrary text to the class-declaration parser.
func FuzzParseCode(f *testing.F) {
	for _, name := range []string{"simplenet_script.pt", "convbn_script.pt", "convbn_trace.pt"} {
		a, err := openFixture(name)
		if err != nil {
			f.Fatal(err)
		}
		for rec, code := range a.Code {
			f.Add(rec, code)
		}
	}
	f.Add("code/__torch__.py", "class A(Module):\n  x : Final[Tuple[int, int]] = (1, [2, \"a\\\"\", ], -inf)\n")
	f.Fuzz(func(t *testing.T, rec, code string) {
		_, _ = parseCode(rec, code)
	})
}

func openFixture(name string) (*Archive, error) {
	return Open(filepath.Join("..", "testdata", "models", name))
}
