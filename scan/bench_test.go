package scan

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkScanCorpus scans every file of the picklescan corpus once per iteration.
func BenchmarkScanCorpus(b *testing.B) {
	dir := corpusDir(b)
	var files [][]byte
	var total int64
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && filepath.Ext(p) != ".json" && filepath.Ext(p) != ".md" {
			if data, err := os.ReadFile(p); err == nil {
				files = append(files, data)
				total += int64(len(data))
			}
		}
		return nil
	})
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, data := range files {
			Bytes(data, "bench", nil)
		}
	}
}

// BenchmarkScanLarge scans the large checkpoints when they are present (the
// GPT-2-shaped one, torchvision's resnet18 as zip and legacy stream): only the
// pickles are read, never the storages.
func BenchmarkScanLarge(b *testing.B) {
	for _, rel := range []string{"gpt2.pt", "zip/gpt2.pt", "zip/resnet18.pt", "legacy/resnet18.pt"} {
		p := filepath.Join(repoRoot(b), "testdata", "fixtures", "large", filepath.FromSlash(rel))
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		b.Run(rel, func(b *testing.B) {
			b.SetBytes(st.Size())
			for range b.N {
				if rep := File(p, nil); rep.Verdict != Safe {
					b.Fatalf("verdict %s: %v", rep.Verdict, rep.Errors)
				}
			}
		})
	}
}
