package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
)

// repoRoot is the folder holding go.mod.
func repoRoot(t testing.TB) string {
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// corpusDir finds the picklescan corpus: $PTH_SHARED/corpus/picklescan, else
// ../shared/corpus/picklescan next to the repository. Missing is a skip locally
// and a failure in CI.
func corpusDir(t testing.TB) string {
	var cands []string
	if s := os.Getenv("PTH_SHARED"); s != "" {
		cands = append(cands, filepath.Join(s, "corpus", "picklescan"))
	}
	cands = append(cands, filepath.Join(repoRoot(t), "..", "shared", "corpus", "picklescan"))
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "labels.json")); err == nil {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("picklescan corpus not found in %v (CI must provide it)", cands)
	}
	t.Skipf("picklescan corpus not found in %v", cands)
	return ""
}

type label struct {
	File       string   `json:"file"`
	Verdict    string   `json:"verdict"`
	Dangerous  []string `json:"dangerous"`
	AllGlobals []string `json:"all_globals"`
	Note       string   `json:"note"`
}

func loadLabels(t testing.TB, dir string) []label {
	data, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels []label
	if err := json.Unmarshal(data, &labels); err != nil {
		t.Fatal(err)
	}
	if len(labels) < 100 {
		t.Fatalf("labels.json has only %d entries", len(labels))
	}
	return labels
}

// placeholder reports whether an expected name is picklescan's stand-in for a
// name it could not resolve (the labels' notes: any dangerous verdict counts).
func placeholder(name string) bool {
	return strings.HasPrefix(name, "unknown.") || strings.HasPrefix(name, "42.") || strings.HasPrefix(name, "_rebuild_tensor.unknown")
}

// TestPicklescanCorpus checks every file of picklescan's test corpus against the
// verdict its labels.json gives (an independent truth: picklescan's own tests and
// the corpus curator's notes).
func TestPicklescanCorpus(t *testing.T) {
	dir := corpusDir(t)
	for _, l := range loadLabels(t, dir) {
		t.Run(l.File, func(t *testing.T) {
			rep := File(filepath.Join(dir, filepath.FromSlash(l.File)), nil)
			switch l.Verdict {
			case "malicious":
				if rep.Verdict != Dangerous {
					t.Fatalf("verdict %s, want dangerous (%s); globals %+v errors %v", rep.Verdict, l.Note, rep.Globals, rep.Errors)
				}
				found := map[string]bool{}
				for _, g := range rep.Globals {
					if g.Class == Dangerous {
						found[g.Module+"."+g.Name] = true
						cm, cn := safeglobals.Canonical(g.Module, g.Name)
						found[cm+"."+cn] = true
					}
				}
				for _, want := range l.Dangerous {
					if placeholder(want) {
						continue
					}
					if !found[want] {
						t.Errorf("dangerous global %s not reported; dangerous ones: %v", want, keys(found))
					}
				}
			case "benign":
				if rep.Verdict != Safe {
					t.Fatalf("verdict %s, want safe (%s); globals %+v errors %v", rep.Verdict, l.Note, rep.Globals, rep.Errors)
				}
			case "suspicious":
				if rep.Verdict != Safe && rep.Verdict != Unknown {
					t.Fatalf("verdict %s, want unknown or safe (%s); errors %v", rep.Verdict, l.Note, rep.Errors)
				}
			case "not_a_model":
				ok := rep.Verdict == Error
				if strings.Contains(l.Note, "'safe' or 'error' are both acceptable") {
					ok = ok || rep.Verdict == Safe
				}
				if !ok {
					t.Fatalf("verdict %s, want error (%s); globals %+v", rep.Verdict, l.Note, rep.Globals)
				}
			default:
				t.Fatalf("unknown label %q", l.Verdict)
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestFixturesNeverDangerous scans every model file the other packages' fixture
// generators wrote with PyTorch (state_dicts, checkpoints, entire models,
// TorchScript, numpy archives): each must be safe or unknown, never dangerous,
// and never unreadable. JSON manifests and scripts are not model files.
func TestFixturesNeverDangerous(t *testing.T) {
	root := repoRoot(t)
	n := 0
	for _, sub := range []string{"testdata/fixtures", "testdata/nn", "testdata/models"} {
		base := filepath.Join(root, filepath.FromSlash(sub))
		filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			switch filepath.Ext(p) {
			case ".json", ".py", ".md", ".txt", ".sha256":
				return nil
			}
			n++
			rel, _ := filepath.Rel(root, p)
			t.Run(filepath.ToSlash(rel), func(t *testing.T) {
				rep := File(p, nil)
				if rep.Verdict != Safe && rep.Verdict != Unknown {
					t.Errorf("verdict %s; globals %+v; errors %v", rep.Verdict, rep.Globals, rep.Errors)
				}
			})
			return nil
		})
	}
	if n == 0 {
		t.Skip("no fixtures yet")
	}
}

// TestWeightsOnlyFixturesSafe: a file PyTorch 1.13 itself loaded with
// weights_only=True (manifest.json's weights_only_ok, recorded by the fixture
// generator) names only allow-listed globals, so it must scan as safe.
func TestWeightsOnlyFixturesSafe(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "testdata", "fixtures", "manifest.json"))
	if err != nil {
		t.Skipf("no fixture manifest yet: %v", err)
	}
	var man struct {
		Fixtures []struct {
			File          string   `json:"file"`
			WeightsOnlyOK bool     `json:"weights_only_ok"`
			Unsafe        []string `json:"unsafe_globals"`
		} `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range man.Fixtures {
		if !f.WeightsOnlyOK {
			continue
		}
		n++
		t.Run(f.File, func(t *testing.T) {
			rep := File(filepath.Join(root, filepath.FromSlash(f.File)), nil)
			if rep.Verdict != Safe {
				t.Errorf("verdict %s, want safe; globals %+v errors %v", rep.Verdict, rep.Globals, rep.Errors)
			}
		})
	}
	if n == 0 {
		t.Fatal("manifest lists no weights_only fixture")
	}
}
