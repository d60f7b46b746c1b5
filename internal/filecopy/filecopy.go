package filecopy

import (
	"bufio"
	"io"
	"os"
)

// Section copies all of sec's bytes to dst and returns how many were written. sec must
// not have been read from (its whole range is copied). When dst is an *os.File and sec
// reads an *os.File, the copy runs in the kernel, continuing at dst's current offset;
// otherwise, or when the kernel cannot copy between these two files, it is io.Copy.
func Section(dst io.Writer, sec *io.SectionReader) (int64, error) {
	if df, ok := dst.(*os.File); ok {
		if r, off, n := sec.Outer(); n > 0 {
			if sf, ok := r.(*os.File); ok {
				written, handled, err := copyRange(df, sf, off, n)
				if handled {
					return written, err
				}
			}
		}
	}
	return io.Copy(dst, sec)
}

// CopyN copies exactly n bytes from r to a buffered writer bw over dst, as io.CopyN
// would (io.EOF when r ends early). When r is an unread *io.SectionReader of exactly
// n bytes, bw is flushed and the section goes to dst through Section, so a file-to-file
// copy happens in the kernel; later writes to bw still land after it.
func CopyN(dst io.Writer, bw *bufio.Writer, r io.Reader, n int64) (int64, error) {
	sec, ok := r.(*io.SectionReader)
	if !ok || sec.Size() != n {
		return io.CopyN(bw, r, n)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	written, err := Section(dst, sec)
	if err == nil && written < n {
		err = io.EOF
	}
	return written, err
}
