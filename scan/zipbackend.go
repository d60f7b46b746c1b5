package scan

import (
	"archive/zip"
	"cmp"
	"compress/flate"
	"fmt"
	"io"
	"slices"
)

// inflate decodes a record's raw bytes. CRC32 and flag bits are not checked, as
// PyTorch's miniz reader does not check them either: a scanner that trusted them
// would skip records the loader runs.
func inflate(method uint16, raw io.Reader) (io.Reader, error) {
	switch method {
	case zip.Store:
		return raw, nil
	case zip.Deflate:
		return flate.NewReader(raw), nil
	}
	return nil, fmt.Errorf("%w: compression method %d", ErrUnsupported, method)
}

// zipEntry is one record of a zip archive, as the scanner needs it.
type zipEntry struct {
	name      string // central-directory name
	localName string // local-header name (may differ: PyTorch's miniz trusts the central one)
	size      int64  // uncompressed size
	open      func() (io.Reader, error)
}

// openZip lists the records of the zip in ra.
func openZip(ra io.ReaderAt, size int64) ([]zipEntry, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, err
	}
	// Every record's data must lie inside the file, and no two records may share
	// bytes: overlapping records are how zip bombs and scanner/loader disagreements
	// are built.
	type span struct{ from, to int64 }
	spans := make([]span, 0, len(zr.File))
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrArchive, f.Name, err)
		}
		if f.CompressedSize64 > uint64(size) || off < 0 || off+int64(f.CompressedSize64) > size {
			return nil, fmt.Errorf("%w: %s: data [%d, +%d) outside the %d-byte archive", ErrArchive, f.Name, off, f.CompressedSize64, size)
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to || spans[i].from == spans[i-1].from {
			return nil, fmt.Errorf("%w: records overlap at offset %d", ErrArchive, spans[i].from)
		}
	}
	out := make([]zipEntry, 0, len(zr.File))
	for _, f := range zr.File {
		f := f
		out = append(out, zipEntry{
			name:      f.Name,
			localName: f.Name,
			size:      int64(min(f.UncompressedSize64, 1<<62)),
			open: func() (io.Reader, error) {
				rc, err := f.OpenRaw()
				if err != nil {
					return nil, err
				}
				return inflate(f.Method, rc)
			},
		})
	}
	return out, nil
}
