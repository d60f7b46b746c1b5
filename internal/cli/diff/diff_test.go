package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func td(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "testdata"}, parts...)...)
}

func TestRunEqual(t *testing.T) {
	var out bytes.Buffer
	a := td("safetensors", "sharded")
	b := td("safetensors", "sharded", "model.safetensors.index.json")
	if err := Run(&Options{A: a, B: b, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "equal: 4 tensors identical\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestRunDifferent(t *testing.T) {
	var out bytes.Buffer
	a := td("safetensors", "sharded")
	b := td("safetensors", "model_f16.safetensors")
	err := Run(&Options{A: a, B: b, Out: &out})
	var de *DifferentError
	if !errors.As(err, &de) || de.ExitCode() != 1 {
		t.Fatalf("err = %v", err)
	}
	// model_casts.json (PyTorch): 0.weight has 12 differing elements, max abs 0.0008981227874755859.
	if !strings.Contains(out.String(), "0.weight: dtype float32 vs float16 [4 3], 12 elements differ, max abs 0.000898123") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	err = Run(&Options{A: a, B: b, Out: &out, JSON: true})
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	var res struct {
		Equal     bool
		Different []struct {
			Name   string
			MaxAbs float64 `json:"max_abs"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Equal || len(res.Different) != 4 {
		t.Errorf("json %s", out.String())
	}
	if err := Run(&Options{A: a, B: td("nope.safetensors"), Out: &out}); err == nil || errors.As(err, &de) {
		t.Errorf("missing file: %v", err)
	}
}
