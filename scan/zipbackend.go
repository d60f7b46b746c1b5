package scan

import (
	"archive/zip"
	"io"
)

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
			open:      func() (io.Reader, error) { return f.Open() },
		})
	}
	return out, nil
}
