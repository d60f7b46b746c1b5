package scan

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
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
	out := make([]zipEntry, 0, len(zr.File))
	for _, f := range zr.File {
		f := f
		out = append(out, zipEntry{
			name:      f.Name,
			localName: f.Name,
			size:      int64(f.UncompressedSize64),
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
