//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package modtreetest

// lockFile does not lock where flock is missing: concurrent generators may
// then duplicate work, but each of them writes every file atomically.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
