package torchscript_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/internal/ziptest"
	"github.com/pthkit/pth/modtree/modtreetest"
	"github.com/pthkit/pth/torchscript"
)

// zipRecord is one record to write: its full name, its bytes, how to store it.
type zipRecord struct {
	name   string
	data   []byte
	method uint16
}

// fixtureRecords returns the records of a fixture archive, in order.
func fixtureRecords(t *testing.T, name string) []zipRecord {
	t.Helper()
	var recs []zipRecord
	for _, r := range ziptest.FileRecords(t, filepath.Join(modtreetest.Dir(), name)) {
		recs = append(recs, zipRecord{r.Name, r.Data, zip.Store})
	}
	return recs
}

// writeZip writes recs with Go's own zip writer (an independent encoder).
func writeZip(t *testing.T, recs []zipRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range recs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipLayout checks how the archive's zip structure is read through
// internal/zipfile: deflated records are inflated (as PyTorch's miniz does),
// and structural problems wrap both ErrFormat and the zip reader's sentinel,
// naming the record.
func TestZipLayout(t *testing.T) {
	const fixture = "simplenet_script.pt"
	orig := fixtureRecords(t, fixture)
	stored := writeZip(t, orig)
	want, err := torchscript.Read(bytes.NewReader(stored), int64(len(stored)))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("deflated records", func(t *testing.T) {
		recs := append([]zipRecord(nil), orig...)
		for i := range recs {
			recs[i].method = zip.Deflate
		}
		b := writeZip(t, recs)
		a, err := torchscript.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		gj, err := json.Marshal(a.Module)
		if err != nil {
			t.Fatal(err)
		}
		wj, err := json.Marshal(want.Module)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gj, wj) {
			t.Fatalf("deflated archive gives tree\n%s\nstored gives\n%s", gj, wj)
		}
		got, exp := a.Module.StateDict(), want.Module.StateDict()
		if strings.Join(got.Keys, ",") != strings.Join(exp.Keys, ",") {
			t.Fatalf("keys %v, want %v", got.Keys, exp.Keys)
		}
		for _, k := range exp.Keys {
			g, err := got.Tensors[k].ContiguousBytes()
			if err != nil {
				t.Fatal(err)
			}
			e, err := exp.Tensors[k].ContiguousBytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g, e) {
				t.Fatalf("%s: deflated bytes differ from stored ones", k)
			}
		}
	})

	for _, tc := range []struct {
		name  string
		edit  func([]zipRecord) []zipRecord
		patch func(t *testing.T, b []byte) // edits the written bytes
		want  error
		msg   string
	}{
		{name: "record outside the folder", edit: func(r []zipRecord) []zipRecord {
			return append(r, zipRecord{"elsewhere/x", []byte("x"), zip.Store})
		}, want: zipfile.ErrNoPrefix, msg: "elsewhere/x"},
		{name: "duplicate record", edit: func(r []zipRecord) []zipRecord {
			return append(r, zipRecord{r[0].name, r[0].data, zip.Store})
		}, want: torchscript.ErrFormat, msg: "appears twice"},
		{name: "deflate bomb", edit: func(r []zipRecord) []zipRecord {
			for i := range r {
				if strings.HasSuffix(r[i].name, "/constants.pkl") {
					r[i].method = zip.Deflate
				}
			}
			return r
		}, patch: func(t *testing.T, b []byte) {
			// Claim 15 MiB (under the code-record bound) for a record of a few
			// compressed bytes: more than deflate can expand to.
			setCentralSize(t, b, "/constants.pkl", 15<<20)
		}, want: zipfile.ErrLimit, msg: "constants.pkl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := tc.edit(append([]zipRecord(nil), orig...))
			b := writeZip(t, recs)
			if tc.patch != nil {
				tc.patch(t, b)
			}
			_, err := torchscript.Read(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, torchscript.ErrFormat) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want ErrFormat and %v naming %q", err, tc.want, tc.msg)
			}
		})
	}
}

// setCentralSize sets the uncompressed size in the central directory entry of
// the record whose name ends in suffix (APPNOTE 4.3.12: signature PK\1\2, the
// size at offset 24, the name at 46).
func setCentralSize(t *testing.T, b []byte, suffix string, size uint32) {
	t.Helper()
	for i := 0; i+46 <= len(b); i++ {
		if binary.LittleEndian.Uint32(b[i:]) != 0x02014b50 {
			continue
		}
		n := int(binary.LittleEndian.Uint16(b[i+28:]))
		if i+46+n <= len(b) && strings.HasSuffix(string(b[i+46:i+46+n]), suffix) {
			binary.LittleEndian.PutUint32(b[i+24:], size)
			return
		}
	}
	t.Fatalf("no central directory entry for *%s", suffix)
}
