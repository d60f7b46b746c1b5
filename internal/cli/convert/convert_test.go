package convert

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// havePyTorch reports whether /usr/bin/python3 can import torch; in CI its absence fails the test.
func havePyTorch(t *testing.T) bool {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but PyTorch is not importable by /usr/bin/python3: %v", err)
		}
		t.Skip("PyTorch not installed (/usr/bin/python3 -c 'import torch' failed)")
		return false
	}
	return true
}

// TestLegacyAndTarUpgradeLoadInPyTorch converts legacy, tar, pickle-protocol and zip fixtures with
// `pth convert` and has real PyTorch check the output equals the original object:
// values, dtypes, shapes, strides, Parameters, storage sharing.
func TestLegacyAndTarUpgradeLoadInPyTorch(t *testing.T) {
	havePyTorch(t)
	root := repoRoot(t)
	for _, rel := range []string{
		"testdata/fixtures/legacy/checkpoint.pt",
		"testdata/fixtures/legacy/views.pt",
		"testdata/fixtures/legacy/tied.pt",
		"testdata/fixtures/tar/storage_view.tar",
		"testdata/fixtures/zip/nested.pt",
		"testdata/fixtures/zip/dtypes.pt",
	} {
		t.Run(rel, func(t *testing.T) {
			in := filepath.Join(root, rel)
			out := filepath.Join(t.TempDir(), "out.pt")
			var stdout bytes.Buffer
			if err := Run(&Options{In: in, Out: out, Stdout: &stdout}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), "every value kept") {
				t.Errorf("PyTorch→PyTorch conversion did not take the full-fidelity path: %q", stdout.String())
			}
			cmd := exec.Command("/usr/bin/python3", filepath.Join(root, "testdata/gen/roundtrip_check.py"), in, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("PyTorch finds the converted file differs: %v\n%s", err, b)
			}
		})
	}
}

// TestToSafetensorsAndBack converts a state_dict to safetensors and back to .pt and
// has PyTorch compare the tensors with the original.
func TestToSafetensorsAndBack(t *testing.T) {
	havePyTorch(t)
	root := repoRoot(t)
	in := filepath.Join(root, "testdata/fixtures/zip/simplenet.pt")
	dir := t.TempDir()
	st := filepath.Join(dir, "m.safetensors")
	var js bytes.Buffer
	if err := Run(&Options{In: in, Out: st, JSON: true, Stdout: &js}); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, js.String())
	}
	if rep["to"] != "safetensors" || rep["tensors"].(float64) != 4 {
		t.Errorf("report %v", rep)
	}
	back := filepath.Join(dir, "back.pt")
	if err := Run(&Options{In: st, Out: back}); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, torch
a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2], weights_only=True)
# safetensors keeps no key order (its writers sort the keys), so compare as sets.
assert sorted(a.keys()) == sorted(b.keys()), (list(a.keys()), list(b.keys()))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]), k
`
	if b, err := exec.Command("/usr/bin/python3", "-c", script, in, back).CombinedOutput(); err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, b)
	}
}

func TestBadFlags(t *testing.T) {
	if err := Run(&Options{In: "a.pt", Out: "b.safetensors", DType: "int8"}); err == nil || !strings.Contains(err.Error(), "--dtype") {
		t.Errorf("--dtype int8: %v", err)
	}
	if err := Run(&Options{In: "a.pt", Out: "d", ShardSize: "-3GB"}); err == nil || !strings.Contains(err.Error(), "--shard-size") {
		t.Errorf("--shard-size -3GB: %v", err)
	}
	for in, want := range map[string]int64{"2GB": 2e9, "500MB": 5e8, "64KiB": 65536, "1000": 1000} {
		if n, err := parseSize(in); err != nil || n != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
}

// TestFailureLeavesNoOutput checks that a failed conversion leaves no file behind.
func TestFailureLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pt")
	if err := os.WriteFile(bad, []byte("PK\x03\x04 not really a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pt")
	if err := Run(&Options{In: bad, Out: out}); err == nil {
		t.Fatal("converting a broken file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed conversion, want only the input", len(entries))
	}
}
