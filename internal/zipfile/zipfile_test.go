package zipfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manifest is testdata/zip/manifest.json, written by testdata/gen/zip_golden.py:
// archives made by PyTorch 1.13's PyTorchFileWriter, torch.save, torch.jit.save and
// CPython's zipfile, described as CPython's zipfile reads them.
type manifest struct {
	Archives map[string]archive
	Corpus   map[string]archive
}

type archive struct {
	Entries []struct {
		Name           string
		LocalName      string `json:"local_name"`
		Method         uint16
		CompressedSize int64 `json:"compressed_size"`
		Size           int64
		CRC32          uint32
		HeaderOffset   int64 `json:"header_offset"`
		DataOffset     int64 `json:"data_offset"`
		Flags          uint16
		Check          string
		RawCRCOK       bool `json:"raw_crc_ok"`
	}
	Zip64End    bool   `json:"zip64_end"`
	ArchiveName string `json:"archive_name"`
	Records     [][2]any
}

const testdataDir = "../../testdata/zip"

func loadManifest(t testing.TB) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Archives) < 8 || len(m.Corpus) < 10 {
		t.Fatalf("manifest too small: %d archives, %d corpus files", len(m.Archives), len(m.Corpus))
	}
	return &m
}

// content is the generator's record content: bytes((i*7 + size) % 256).
func content(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte((i*7 + size) % 256)
	}
	return b
}

func TestWriterMatchesPyTorch(t *testing.T) {
	m := loadManifest(t)
	n := 0
	for fname, a := range m.Archives {
		if !strings.HasPrefix(fname, "writer_") {
			continue
		}
		n++
		want, err := os.ReadFile(filepath.Join(testdataDir, fname))
		if err != nil {
			t.Fatal(err)
		}
		for _, streaming := range []bool{false, true} {
			var buf bytes.Buffer
			zw := NewWriter(&buf, a.ArchiveName)
			for _, r := range a.Records {
				name, size := r[0].(string), int(r[1].(float64))
				if streaming {
					w, err := zw.CreateRecord(name, int64(size))
					if err != nil {
						t.Fatal(err)
					}
					data := content(size)
					for len(data) > 0 { // in uneven pieces
						k := min(len(data), 7)
						if _, err := w.Write(data[:k]); err != nil {
							t.Fatal(err)
						}
						data = data[k:]
					}
				} else if err := zw.WriteRecord(name, content(size)); err != nil {
					t.Fatal(err)
				}
			}
			// PyTorchStreamWriter's writeEndOfFile adds "version" = "3\n"
			if err := zw.WriteRecord("version", []byte("3\n")); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if got := buf.Bytes(); !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("%s (streaming %v): %d bytes, PyTorch %d; first difference at %d", fname, streaming, len(got), len(want), i)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d writer archives", n)
	}
}

func checkArchive(t *testing.T, path string, a archive) *Reader {
	t.Helper()
	rc, err := OpenReader(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	t.Cleanup(func() { rc.Close() })
	recs := rc.Records()
	if len(recs) != len(a.Entries) {
		t.Fatalf("%s: %d records, CPython %d", path, len(recs), len(a.Entries))
	}
	for i, want := range a.Entries {
		got := recs[i]
		if got.Name != want.Name || got.LocalName != want.LocalName || got.Method != want.Method ||
			got.CompressedSize != want.CompressedSize || got.Size != want.Size || got.CRC32 != want.CRC32 ||
			got.HeaderOffset != want.HeaderOffset || got.DataOffset != want.DataOffset || got.Flags != want.Flags {
			t.Errorf("%s record %d: got %+v\nCPython %+v", path, i, *got, want)
		}
		if rc.Lookup(want.Name) == nil {
			t.Errorf("%s: Lookup(%q) failed", path, want.Name)
		}
		// Verify succeeds exactly when CPython reads the record back, or when the
		// record's stored bytes match its CRC although CPython refuses it for its
		// encryption/patch flags or a local name that differs: PyTorch's miniz,
		// and so this reader, ignores both (CVE-2025-1944/1945).
		err := got.Verify()
		wantOK := want.Check == "ok" || want.RawCRCOK
		switch {
		case wantOK && err != nil:
			t.Errorf("%s %q: Verify: %v", path, want.Name, err)
		case !wantOK && err == nil:
			t.Errorf("%s %q: Verify succeeded; CPython: %s", path, want.Name, want.Check)
		case want.Check == "crc" && !errors.Is(err, ErrChecksum):
			t.Errorf("%s %q: Verify %v, want ErrChecksum", path, want.Name, err)
		}
		if got.Flagged() != (want.Flags&(1|1<<5|1<<6) != 0) {
			t.Errorf("%s %q: Flagged %v with flags %#x", path, want.Name, got.Flagged(), want.Flags)
		}
	}
	return rc.Reader
}

func TestReaderMatchesCPython(t *testing.T) {
	m := loadManifest(t)
	for fname, a := range m.Archives {
		z := checkArchive(t, filepath.Join(testdataDir, fname), a)
		if strings.HasPrefix(fname, "writer_") || strings.HasSuffix(fname, ".pt") {
			p, err := z.Prefix()
			wantPrefix := a.ArchiveName
			if wantPrefix == "" {
				wantPrefix = "archive"
			}
			if err != nil || p != wantPrefix {
				t.Errorf("%s: Prefix %q, %v; want %q", fname, p, err, wantPrefix)
			}
			if err := z.CheckPrefix(); err != nil {
				t.Errorf("%s: CheckPrefix: %v", fname, err)
			}
			// every PyTorch record's data starts on a 64-byte boundary
			for _, r := range z.Records() {
				if r.DataOffset%Alignment != 0 {
					t.Errorf("%s %q: data at %d", fname, r.Name, r.DataOffset)
				}
			}
		}
	}
	for fname, a := range m.Corpus {
		z := checkArchive(t, filepath.Join(testdataDir, "corpus", fname), a)
		// every name must share entry #0's folder
		first := a.Entries[0].Name
		wantErr := !strings.Contains(first, "/")
		for _, e := range a.Entries {
			if wantErr || !strings.HasPrefix(e.Name, first[:strings.IndexByte(first, '/')+1]) {
				wantErr = true
			}
		}
		if err := z.CheckPrefix(); (err != nil) != wantErr || (err != nil && !errors.Is(err, ErrNoPrefix)) {
			t.Errorf("%s: CheckPrefix %v", fname, err)
		}
	}
}

func TestContents(t *testing.T) {
	// generator records hold content(size); the TorchScript code records are deflated text.
	rc, err := OpenReader(filepath.Join(testdataDir, "writer_small.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for _, r := range rc.Records() {
		b, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "archive/version" && !bytes.Equal(b, content(int(r.Size))) {
			t.Errorf("%q: wrong content", r.Name)
		}
	}
	ts, err := OpenReader(filepath.Join(testdataDir, "torchscript.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	code := ts.Lookup("archive/code/__torch__.py")
	if code == nil || code.Method != Deflate {
		t.Fatalf("code record: %+v", code)
	}
	b, err := code.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("def forward(")) {
		t.Errorf("inflated code:\n%s", b)
	}
	// an encryption-flagged record still yields its bytes, as in PyTorch
	enc, err := OpenReader(filepath.Join(testdataDir, "corpus", "malicious1_0x1.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	raw, err := enc.Records()[0].ReadAll()
	if err != nil || !bytes.HasPrefix(raw, []byte{0x80, 0x04}) {
		t.Errorf("ReadAll: % x %v", raw[:min(len(raw), 4)], err)
	}
	if _, err := enc.Prefix(); err != nil {
		t.Errorf("Prefix of model/config.pkl: %v", err)
	}
	flat, err := OpenReader(filepath.Join(testdataDir, "corpus", "malicious1.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer flat.Close()
	if _, err := flat.Prefix(); !errors.Is(err, ErrNoPrefix) || !errors.Is(err, ErrFormat) {
		t.Errorf("Prefix of data.pkl: %v", err)
	}
}
