package pth

import (
	"os"
	"testing"
)

// The benchmark file is made by testdata/gen/bench_gen.py (a GPT-2-small-shaped
// state_dict, about 500 MB); the benchmarks skip when it is absent.
const benchFile = "testdata/fixtures/large/gpt2.pt"

func benchPath(b *testing.B) string {
	if _, err := os.Stat(benchFile); err != nil {
		b.Skipf("%s not generated (testdata/gen/bench_gen.py): %v", benchFile, err)
	}
	return benchFile
}

// BenchmarkOpen opens the file and indexes every tensor, reading no tensor bytes.
func BenchmarkOpen(b *testing.B) {
	path := benchPath(b)
	for b.Loop() {
		f, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(Tensors(f.Root)) == 0 {
			b.Fatal("no tensors")
		}
		f.Close()
	}
}

// BenchmarkReadAll opens the file and reads every tensor's bytes.
func BenchmarkReadAll(b *testing.B) {
	path := benchPath(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		f, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		var sum byte
		for _, nt := range Tensors(f.Root) {
			f.ReadAhead(nt.T.Storage)
			data, err := nt.T.Storage.Bytes()
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < len(data); i += 4096 { // touch every page
				sum += data[i]
			}
		}
		_ = sum
		f.Close()
	}
}

// BenchmarkOpenMany opens the generated 20,000-tensor state_dict
// (testdata/gen/bench_gen.py) and indexes every tensor.
func BenchmarkOpenMany(b *testing.B) { benchmarkOpenMany(b, nil) }

// BenchmarkOpenManyWeightsOnly is BenchmarkOpenMany in weights-only mode.
func BenchmarkOpenManyWeightsOnly(b *testing.B) { benchmarkOpenMany(b, &Options{WeightsOnly: true}) }

func benchmarkOpenMany(b *testing.B, opts *Options) {
	const path = "testdata/fixtures/large/many.pt"
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s not generated: %v", path, err)
	}
	for b.Loop() {
		f, err := Open(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(Tensors(f.Root)) != 20000 {
			b.Fatal("want 20,000 tensors")
		}
		f.Close()
	}
}
