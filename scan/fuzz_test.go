package scan

import (
	"os"
	"path/filepath"
	"testing"
)

// seedFiles returns the corpus, adversarial and fixture files to seed fuzzing with
// (small ones only).
func seedFiles(t testing.TB) []string {
	root := repoRoot(t)
	var out []string
	dirs := []string{filepath.Join(root, "testdata", "scan"), filepath.Join(root, "testdata", "fixtures")}
	if s := os.Getenv("PTH_SHARED"); s != "" {
		dirs = append(dirs, filepath.Join(s, "corpus", "picklescan"))
	}
	dirs = append(dirs, filepath.Join(root, "..", "shared", "corpus", "picklescan"))
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			if info, err := e.Info(); err == nil && info.Size() <= 64<<10 {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// FuzzScan: any input ends in a report (never a panic), within small budgets, and
// a report is never "safe" while it carries errors.
func FuzzScan(f *testing.F) {
	for _, p := range seedFiles(f) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := Bytes(data, "fuzz", &Options{MaxBuffered: 8 << 20, MaxOps: 1 << 20})
		if len(rep.Errors) > 0 && rep.Verdict < Error {
			t.Fatalf("verdict %s with errors %v", rep.Verdict, rep.Errors)
		}
		for _, g := range rep.Globals {
			if g.Class > rep.Verdict {
				t.Fatalf("global %s.%s is %s but the verdict is %s", g.Module, g.Name, g.Class, rep.Verdict)
			}
		}
	})
}
