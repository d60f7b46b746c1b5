package zipfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const pytorchReader = `
import hashlib, json, sys, torch
r = torch._C.PyTorchFileReader(sys.argv[1])
out = {}
for name in r.get_all_records():
    out[name] = hashlib.sha256(r.get_record(name)).hexdigest()
print(json.dumps(out))
`

// TestPyTorchReadsOurArchive has PyTorch's own reader (caffe2's
// PyTorchStreamReader, through torch._C.PyTorchFileReader) read an archive
// written here and checks every record's bytes.
func TestPyTorchReadsOurArchive(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: /usr/bin/python3 with torch is required")
		}
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: torch is required: ", err)
		}
		t.Skip("no torch")
	}
	path := filepath.Join(t.TempDir(), "ours.pt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := NewWriter(f, "ours")
	want := map[string]string{}
	sizes := []int{0, 1, 63, 64, 65, 4095, 100000, 0, 7}
	for i, n := range sizes {
		name := "data/" + string(rune('a'+i))
		data := content(n)
		if i%2 == 0 {
			if err := zw.WriteRecord(name, data); err != nil {
				t.Fatal(err)
			}
		} else {
			w, err := zw.CreateRecord(name, int64(n))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		sum := sha256.Sum256(data)
		want[name] = hex.EncodeToString(sum[:])
	}
	code := bytes.Repeat([]byte("def forward(self, x):\n    return x\n"), 40)
	if err := zw.WriteRecordDeflated("code/__torch__.py", code); err != nil {
		t.Fatal(err)
	}
	codeSum := sha256.Sum256(code)
	want["code/__torch__.py"] = hex.EncodeToString(codeSum[:])
	zw.WriteRecord("version", []byte("3\n"))
	sum := sha256.Sum256([]byte("3\n"))
	want["version"] = hex.EncodeToString(sum[:])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("/usr/bin/python3", "-c", pytorchReader, path).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch could not read our archive: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal(bytes.TrimSpace(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != len(want) {
		t.Errorf("PyTorch sees %d records, we wrote %d: %v", len(got), len(want), got)
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("record %q: PyTorch reads sha256 %s, wrote %s", name, got[name], h)
		}
	}
}
