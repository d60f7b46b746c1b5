package filecopy

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyRange copies n bytes at off in src to dst's current offset with
// copy_file_range. It reports handled=false, having written nothing, when the kernel
// or the filesystems cannot do it, so the caller can fall back to io.Copy.
func copyRange(dst, src *os.File, off, n int64) (written int64, handled bool, err error) {
	sc, err := src.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	dc, err := dst.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var opErr error
	ctlErr := sc.Control(func(sfd uintptr) {
		ctlErr := dc.Control(func(dfd uintptr) {
			for written < n {
				chunk := min(n-written, 1<<30)
				k, err := unix.CopyFileRange(int(sfd), &off, int(dfd), nil, int(chunk), 0)
				if err != nil {
					if written == 0 && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EXDEV) ||
						errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM)) {
						return // not handled: fall back
					}
					if errors.Is(err, unix.EINTR) {
						continue
					}
					handled = true
					opErr = fmt.Errorf("copy_file_range: %w", err)
					return
				}
				handled = true
				if k == 0 {
					opErr = fmt.Errorf("copy_file_range: %w after %d of %d bytes", io.ErrUnexpectedEOF, written, n)
					return
				}
				written += int64(k)
			}
			handled = true
		})
		if ctlErr != nil && opErr == nil && !handled {
			opErr = ctlErr
		}
	})
	if ctlErr != nil && !handled {
		return 0, false, nil
	}
	return written, handled, opErr
}
