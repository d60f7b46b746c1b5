package zipfile

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestDeflatedLayoutMatchesPyTorch rewrites each deflated record of the
// torch.jit.save fixture at the same offset and compares every byte PyTorch
// wrote around the compressed data: local header (version 20, method 8, FB
// padding from the uncompressed size), data descriptor (CRC, sizes) and
// central directory entry. Only the compressed bytes and their length differ
// (Go's deflate is not miniz's).
func TestDeflatedLayoutMatchesPyTorch(t *testing.T) {
	ts := readFile(t, "torchscript.pt")
	z, err := open(ts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rec := range z.Records() {
		if rec.Method != Deflate {
			continue
		}
		n++
		data, err := rec.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := NewWriter(&buf, "archive")
		zw.off = rec.HeaderOffset
		if err := zw.WriteRecordDeflated(rec.Name[len("archive/"):], data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		ours := buf.Bytes()
		hdr := rec.DataOffset - rec.HeaderOffset
		if !bytes.Equal(ours[:hdr], ts[rec.HeaderOffset:rec.DataOffset]) {
			t.Errorf("%s: local header\n% x\nPyTorch\n% x", rec.Name, ours[:hdr], ts[rec.HeaderOffset:rec.DataOffset])
		}
		// our compressed length, from our own central entry
		ce := centralEntries(ours)
		if len(ce) != 1 {
			t.Fatalf("%d central entries", len(ce))
		}
		ourC := int64(binary.LittleEndian.Uint32(ours[ce[0]+20:]))
		desc := ours[hdr+ourC : hdr+ourC+16]
		theirs := ts[rec.DataOffset+rec.CompressedSize : rec.DataOffset+rec.CompressedSize+16]
		if !bytes.Equal(desc[:8], theirs[:8]) || !bytes.Equal(desc[12:], theirs[12:]) {
			t.Errorf("%s: descriptor % x, PyTorch % x", rec.Name, desc, theirs)
		}
		if binary.LittleEndian.Uint32(desc[8:]) != uint32(ourC) {
			t.Errorf("%s: descriptor compressed size", rec.Name)
		}
		// PyTorch's central entry for this record, with our compressed size patched in
		var want []byte
		for _, off := range centralEntries(ts) {
			nlen := int(binary.LittleEndian.Uint16(ts[off+28:]))
			if string(ts[off+46:off+46+nlen]) == rec.Name {
				want = bytes.Clone(ts[off : off+46+nlen])
			}
		}
		binary.LittleEndian.PutUint32(want[20:], uint32(ourC))
		if got := ours[ce[0] : ce[0]+len(want)]; !bytes.Equal(got, want) {
			t.Errorf("%s: central entry\n% x\nPyTorch (compressed size patched)\n% x", rec.Name, got, want)
		}
		// and it reads back
		z2, err := NewReader(sparse{rec.HeaderOffset, ours}, rec.HeaderOffset+int64(len(ours)))
		if err != nil {
			t.Fatal(err)
		}
		back, err := z2.Records()[0].ReadAll()
		if err != nil || !bytes.Equal(back, data) || z2.Records()[0].Verify() != nil {
			t.Errorf("%s: read back: %v", rec.Name, err)
		}
	}
	if n < 4 {
		t.Fatalf("only %d deflated records in the fixture", n)
	}
}
