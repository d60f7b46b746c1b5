package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) string {
	p := filepath.Join("..", "..", "..", "testdata", "scan", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// TestExitStatus: 0 all safe, 1 any dangerous, 2 errors, 3 worst unknown, and
// --fail-on dangerous lets unknown pass — issue 5, point 3.
func TestExitStatus(t *testing.T) {
	safe, unknown := fixture(t, "raw_benign_p5.pkl"), fixture(t, "unknown_class.pkl")
	evil, broken := fixture(t, "raw_p2.pkl"), fixture(t, "truncated_benign.pkl")
	for _, c := range []struct {
		paths  []string
		failOn string
		want   int
	}{
		{[]string{safe}, "", 0},
		{[]string{safe, unknown}, "", 3},
		{[]string{safe, unknown}, "unknown", 3},
		{[]string{safe, unknown}, "dangerous", 0},
		{[]string{safe, broken}, "", 2},
		{[]string{unknown, broken}, "dangerous", 2},
		{[]string{safe, unknown, broken, evil}, "", 1},
		{[]string{evil}, "dangerous", 1},
		{[]string{filepath.Join(t.TempDir(), "missing.pt")}, "", 2},
	} {
		var out bytes.Buffer
		err := Run(&Options{Paths: c.paths, FailOn: c.failOn, Out: &out})
		if got := exitCode(err); got != c.want {
			t.Errorf("%v --fail-on %q: exit %d, want %d\n%s", c.paths, c.failOn, got, c.want, out.String())
		}
	}
	if got := exitCode(Run(&Options{Paths: []string{safe}, FailOn: "bogus"})); got != 2 {
		t.Errorf("--fail-on bogus: exit %d, want 2", got)
	}
}

// TestJSONShape: the --json keys are exactly those issue 5 specifies (plus
// "errors" when there are some), with literal calls.
func TestJSONShape(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Dir(fixture(t, "raw_p2.pkl"))
	err := Run(&Options{Paths: []string{filepath.Join(dir, "raw_p2.pkl"), filepath.Join(dir, "truncated_benign.pkl")}, JSON: true, Out: &out})
	if exitCode(err) != 1 {
		t.Fatalf("exit %d", exitCode(err))
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	files := doc["files"]
	if len(doc) != 1 || len(files) != 2 {
		t.Fatalf("top level %v", doc)
	}
	f := files[0]
	for _, k := range []string{"path", "verdict", "globals", "pickles"} {
		if _, ok := f[k]; !ok {
			t.Errorf("file entry lacks %q: %v", k, f)
		}
	}
	if len(f) != 4 {
		t.Errorf("file entry keys %v", f)
	}
	if f["verdict"] != "dangerous" || f["pickles"] != 1.0 {
		t.Errorf("entry %v", f)
	}
	g := f["globals"].([]any)[0].(map[string]any)
	if len(g) != 5 || g["module"] != "os" || g["name"] != "system" || g["class"] != "dangerous" || g["reason"] == "" {
		t.Errorf("global %v", g)
	}
	if calls := g["calls"].([]any); len(calls) != 1 || calls[0] != "os.system('id')" {
		t.Errorf("calls %v", calls)
	}
	if e := files[1]; e["verdict"] != "error" || e["errors"] == nil {
		t.Errorf("broken entry %v", e)
	}
}

// TestTextReport: one line per file and a summary.
func TestTextReport(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Dir(fixture(t, "raw_p2.pkl"))
	Run(&Options{Paths: []string{filepath.Join(dir, "raw_p2.pkl"), filepath.Join(dir, "raw_benign_p5.pkl")}, Out: &out})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "dangerous ") || !strings.Contains(lines[0], "os.system('id')") {
		t.Errorf("line 1: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], "safe ") {
		t.Errorf("line 2: %s", lines[1])
	}
	if lines[2] != "2 files: 1 safe, 0 unknown, 1 dangerous, 0 errors" {
		t.Errorf("summary: %s", lines[2])
	}
}

// TestDirectoryRecursion: a directory is scanned recursively, every file once.
func TestDirectoryRecursion(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o755)
	data, _ := os.ReadFile(fixture(t, "raw_p0.pkl"))
	os.WriteFile(filepath.Join(sub, "weights.bin"), data, 0o644)
	benign, _ := os.ReadFile(fixture(t, "raw_benign_p5.pkl"))
	os.WriteFile(filepath.Join(dir, "ok.pkl"), benign, 0o644)
	// A link to a model file is scanned; a link to a folder is not followed.
	if err := os.Symlink(filepath.Join(sub, "weights.bin"), filepath.Join(dir, "link.pt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(sub, "loop")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := Run(&Options{Paths: []string{dir}, JSON: true, Out: &out})
	if exitCode(err) != 1 {
		t.Fatalf("exit %d\n%s", exitCode(err), out.String())
	}
	var doc struct {
		Files []struct{ Path, Verdict string } `json:"files"`
	}
	json.Unmarshal(out.Bytes(), &doc)
	if len(doc.Files) != 3 || doc.Files[0].Verdict != "dangerous" || doc.Files[1].Verdict != "dangerous" ||
		doc.Files[2].Verdict != "safe" || filepath.Base(doc.Files[1].Path) != "link.pt" {
		t.Fatalf("%+v", doc.Files)
	}
}
