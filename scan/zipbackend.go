package scan

import (
	"compress/flate"
	"fmt"
	"io"

	"github.com/pthkit/pth/internal/zipfile"
)

// zipEntry is one record of a zip archive, as the scanner needs it.
type zipEntry struct {
	name      string // central-directory name
	localName string // local-header name (may differ: PyTorch's miniz trusts the central one)
	size      int64  // uncompressed size
	open      func() (io.Reader, error)
	// stored is the record's bytes in place when it is not compressed, so that
	// an archive inside it is read without copying (nil when deflated).
	stored io.ReaderAt
}

// openZip lists the records of the zip in ra with the PyTorch-dialect reader
// (internal/zipfile): records must lie inside the file and must not overlap.
func openZip(ra io.ReaderAt, size int64) ([]zipEntry, error) {
	zr, err := zipfile.NewReader(ra, size)
	if err != nil {
		return nil, err
	}
	recs := zr.Records()
	out := make([]zipEntry, 0, len(recs))
	for _, rec := range recs {
		rec := rec
		e := zipEntry{
			name:      rec.Name,
			localName: rec.LocalName,
			size:      rec.Size,
			open:      func() (io.Reader, error) { return inflate(rec.Method, rec.OpenRaw()) },
		}
		if rec.Method == zipfile.Store && rec.CompressedSize == rec.Size {
			e.stored = rec.OpenRaw()
		}
		out = append(out, e)
	}
	return out, nil
}

// inflate decodes a record's raw bytes. Unlike zipfile.Record.Open it ignores
// the encryption and patch flag bits and the CRC32, as PyTorch's miniz reader
// does: a scanner that trusted them would skip records the loader runs
// (CVE-2025-1944/1945 against picklescan). Inflated bytes are bounded by the
// scan's own budgets (opcodes, pickle allocation, buffered bytes).
func inflate(method uint16, raw io.Reader) (io.Reader, error) {
	switch method {
	case zipfile.Store:
		return raw, nil
	case zipfile.Deflate:
		return flate.NewReader(raw), nil
	}
	return nil, fmt.Errorf("%w: compression method %d", ErrUnsupported, method)
}
