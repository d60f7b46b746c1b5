package pickle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/ziptest"
)

// Files written by real PyTorch 1.13 (testdata/gen/gen_fixtures.py, another
// package's fixtures): torch.save pickles with CPython's C pickler, protocol 2,
// so decoding data.pkl and encoding it again must give PyTorch's exact bytes.

func torchFixtures(t *testing.T, pattern string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "fixtures", pattern))
	if len(files) == 0 {
		t.Skipf("no PyTorch fixtures %s in this tree", pattern)
	}
	return files
}

func TestTorchZipReencode(t *testing.T) {
	files := append(torchFixtures(t, "zip/*.pt"), torchFixtures(t, "proto/mixed_p2.pt")...)
	for _, f := range files {
		found := false
		for _, r := range ziptest.FileRecords(t, f) {
			if !strings.HasSuffix(r.Name, "/data.pkl") {
				continue
			}
			found = true
			data := r.Data
			v, err := Unmarshal(data, nil)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			out, err := Marshal(v)
			if err != nil {
				t.Errorf("%s: Marshal: %v", f, err)
				continue
			}
			if !bytes.Equal(out, data) {
				t.Errorf("%s: re-encoded data.pkl differs from PyTorch's (%d vs %d bytes)", f, len(out), len(data))
			}
		}
		if !found {
			t.Errorf("%s: no data.pkl", f)
		}
	}
}

// TestTorchLegacyStream reads the pickles at the start of legacy-format files
// (magic number, protocol, sys_info, the object, the storage keys) one after
// the other with one Decoder, re-encodes each and checks PyTorch's bytes and
// that Offset lands on the raw storage data.
func TestTorchLegacyStream(t *testing.T) {
	for _, f := range torchFixtures(t, "legacy/*.pt") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(bytes.NewReader(data), nil)
		var start int64
		var keys Value
		for i := range 5 {
			v, err := d.Decode()
			if err != nil {
				t.Fatalf("%s pickle %d: %v", f, i, err)
			}
			end := d.Offset()
			out, err := Marshal(v)
			if err != nil {
				t.Fatalf("%s pickle %d: Marshal: %v", f, i, err)
			}
			if !bytes.Equal(out, data[start:end]) {
				t.Errorf("%s pickle %d: re-encoded bytes differ from PyTorch's", f, i)
			}
			start, keys = end, v
		}
		// The last pickle lists the storage keys; their raw bytes follow it.
		l, ok := keys.(*List)
		if !ok {
			t.Fatalf("%s: keys pickle is %s", f, Sprint(keys))
		}
		if len(l.Items) > 0 && start >= int64(len(data)) || len(l.Items) == 0 && start != int64(len(data)) {
			t.Errorf("%s: %d storages, decoder stopped at %d of %d bytes", f, len(l.Items), start, len(data))
		}
	}
}
