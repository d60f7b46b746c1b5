package pickle

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestOpReaderGenops compares OpReader with pickletools.genops, recorded by
// testdata/gen/pickle_golden.py in ops.json.
func TestOpReaderGenops(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "ops.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][][]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 60 {
		t.Fatalf("only %d files in ops.json", len(want))
	}
	for name, ops := range want {
		r := NewOpReader(bytes.NewReader(readGoldenFile(t, name)), Limits{})
		var got [][]any
		for {
			op, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			arg := op.Arg
			switch x := arg.(type) {
			case Global:
				arg = x.Module + " " + x.Name // pickletools' form
			case []byte:
				switch op.Code {
				case OpString, OpBinString, OpShortBinString:
					arg = latin1(x) // pickletools decodes these to str
				}
			}
			r := &renderer{ids: map[any]int{}}
			got = append(got, []any{op.Offset, op.Name, r.render(arg)})
		}
		gb, _ := json.Marshal(got)
		var gotN [][]any
		_ = json.Unmarshal(gb, &gotN)
		if !reflect.DeepEqual(gotN, ops) {
			wb, _ := json.Marshal(ops)
			t.Errorf("%s:\n got  %.400s\n want %.400s", name, gb, wb)
		}
	}
}
