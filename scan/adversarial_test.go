package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
)

type advCase struct {
	File      string   `json:"file"`
	Verdict   string   `json:"verdict"`
	Dangerous []string `json:"dangerous"`
	Note      string   `json:"note"`
	Options   *struct {
		MaxBuffered int64 `json:"max_buffered"`
	} `json:"options"`
}

// TestAdversarial checks the fixtures testdata/gen/scan_adversarial.py wrote: each
// container trick must still reveal its payload, each hostile input must end in
// an error verdict (never safe), and each benign construct must stay safe.
func TestAdversarial(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "scan")
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []advCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			var opts *Options
			if c.Options != nil {
				opts = &Options{MaxBuffered: c.Options.MaxBuffered}
			}
			rep := File(filepath.Join(dir, c.File), opts)
			if rep.Verdict.String() != c.Verdict {
				t.Fatalf("verdict %s, want %s (%s); globals %+v; errors %v", rep.Verdict, c.Verdict, c.Note, rep.Globals, rep.Errors)
			}
			found := map[string]bool{}
			for _, g := range rep.Globals {
				if g.Class == Dangerous {
					found[g.Module+"."+g.Name] = true
					cm, cn := safeglobals.Canonical(g.Module, g.Name)
					found[cm+"."+cn] = true
				}
			}
			for _, want := range c.Dangerous {
				if !found[want] {
					t.Errorf("%s not reported dangerous; dangerous: %v", want, keys(found))
				}
			}
			if c.Verdict == "error" && len(rep.Err) == 0 {
				t.Errorf("error verdict without an error")
			}
		})
	}
}

// TestDiscardedCallReported: a call whose result is POPped is still reported,
// with its literal argument, and marked as discarded (fickling's
// GHSA-mxhj-88fx-4pcv hid exactly this).
func TestDiscardedCallReported(t *testing.T) {
	rep := File(filepath.Join(repoRoot(t), "testdata", "scan", "discarded_call.pkl"), nil)
	for _, g := range rep.Globals {
		if g.Module == "posix" && g.Name == "system" {
			if len(g.Calls) != 1 || g.Calls[0] != "posix.system('id') # result discarded" {
				t.Fatalf("calls %q", g.Calls)
			}
			return
		}
	}
	t.Fatalf("posix.system not found: %+v", rep.Globals)
}

// TestLiteralArguments: constant arguments are shown as Python would print them.
func TestLiteralArguments(t *testing.T) {
	rep := File(filepath.Join(repoRoot(t), "testdata", "scan", "getattr_chain.pkl"), nil)
	var calls []string
	for _, g := range rep.Globals {
		calls = append(calls, g.Calls...)
	}
	want := "builtins.getattr(builtins.__import__('os'), 'system')('id')"
	for _, c := range calls {
		if c == want {
			return
		}
	}
	t.Fatalf("no call %q in %q", want, strings.Join(calls, " | "))
}

// TestHostileMemoryBound: scanning each adversarial fixture allocates at most
// 64 MiB plus 16 times its size in total (issue 5: bounded memory on hostile
// files). TotalAlloc counts every allocation, so it bounds the peak too.
func TestHostileMemoryBound(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "scan")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		File(filepath.Join(dir, e.Name()), nil)
		runtime.ReadMemStats(&after)
		used := after.TotalAlloc - before.TotalAlloc
		if limit := uint64(64<<20 + 16*info.Size()); used > limit {
			t.Errorf("%s: %d bytes allocated, bound %d", e.Name(), used, limit)
		}
	}
}

// TestConcurrentScans: scans share no mutable state (run with -race).
func TestConcurrentScans(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "scan")
	names := []string{"memo_miss.pkl", "render_bomb.pkl", "getattr_chain.pkl", "zip_benign.pt", "stack_global_computed.pkl"}
	done := make(chan *FileReport)
	for i := 0; i < 4; i++ {
		for _, n := range names {
			go func() { done <- File(filepath.Join(dir, n), nil) }()
		}
	}
	verdicts := map[string]Class{}
	for i := 0; i < 4*len(names); i++ {
		r := <-done
		if v, ok := verdicts[r.Path]; ok && v != r.Verdict {
			t.Errorf("%s: verdicts %s and %s", r.Path, v, r.Verdict)
		}
		verdicts[r.Path] = r.Verdict
	}
}
