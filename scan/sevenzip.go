package scan

import (
	"fmt"
	"io"
)

// sevenZip scans a 7z archive.
func (fs *fileScan) sevenZip(where string, ra io.ReaderAt, size int64, depth int) {
	fs.fail(where, fmt.Errorf("%w: 7z", ErrUnsupported))
}
