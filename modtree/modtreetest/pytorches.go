package modtreetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Torch2Env names the environment variable holding the command prefix that
// runs Python with PyTorch 2.x, e.g. "chroot /var/tmp/trixie python3"
// (testdata/gen/torch2_chroot.sh builds that root and bind-mounts the checkout
// at the same path inside it, so paths in the checkout mean the same file on
// both sides).
const Torch2Env = "PTH_TORCH2"

// PyTorch is one Python with PyTorch that interop tests run their oracle
// scripts under. PyTorches lists them; tests run the same round trip under
// each, in a subtest named after it.
type PyTorch struct {
	// Name names it in subtests and messages: "python3" for /usr/bin/python3
	// (Debian's PyTorch 1.13), "torch2" for PTH_TORCH2's.
	Name   string
	prefix []string // empty: PTH_TORCH2 is unset
	env    string   // the variable that configures it; "" for /usr/bin/python3
}

// PyTorches returns /usr/bin/python3 and the Python PTH_TORCH2 names. Call
// Require before using one: it skips the test when that Python is not there.
func PyTorches() []PyTorch {
	return []PyTorch{
		{Name: "python3", prefix: []string{"/usr/bin/python3"}},
		{Name: "torch2", prefix: strings.Fields(os.Getenv(Torch2Env)), env: Torch2Env},
	}
}

var (
	importMu  sync.Mutex
	importErr = map[string]error{} // by prefix and modules: `import` run once per test binary
)

// Require makes sure this Python can import torch (and modules, e.g. "numpy").
// /usr/bin/python3 behaves as Python does: without PyTorch the test skips,
// unless CI is set, where it fails. PTH_TORCH2's Python skips, naming the
// variable, when the variable is unset (under CI, which sets it, it fails);
// when it is set, a Python that cannot
// import torch, or does not see the checkout (SeesCheckout), fails the test
// (it was asked for explicitly).
func (p PyTorch) Require(t testing.TB, modules ...string) {
	t.Helper()
	if len(p.prefix) == 0 && os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is not: .ci/run sets up the PyTorch 2.x peer (testdata/gen/torch2_chroot.sh --setup)", p.env)
	}
	if len(p.prefix) == 0 {
		t.Skipf("%s is not set (a command prefix running Python with PyTorch 2.x, "+
			"e.g. %s='chroot /var/tmp/trixie python3'; see testdata/gen/torch2_chroot.sh)", p.env, p.env)
	}
	stmt := "import " + strings.Join(append([]string{"torch"}, modules...), ", ")
	key := strings.Join(p.prefix, " ") + "\x00" + stmt
	importMu.Lock()
	err, done := importErr[key]
	if !done {
		var out []byte
		script := stmt
		if p.env != "" {
			script += "\n" + SeesCheckout
		}
		out, err = p.Command("-c", script, Root()).CombinedOutput()
		if err != nil {
			err = &importError{err: err, out: strings.TrimSpace(string(out))}
		}
		importErr[key] = err
	}
	importMu.Unlock()
	if err == nil {
		return
	}
	switch {
	case p.env != "":
		t.Fatalf("%s=%q failed its check (%s, and sees the checkout): %v", p.env, strings.Join(p.prefix, " "), stmt, err)
	case os.Getenv("CI") != "":
		t.Fatalf("CI is set but %s cannot %s: %v", p.prefix[0], stmt, err)
	default:
		t.Skipf("%s cannot %s: %v", p.prefix[0], stmt, err)
	}
}

type importError struct {
	err error
	out string
}

func (e *importError) Error() string {
	if e.out == "" {
		return e.err.Error()
	}
	return e.err.Error() + "\n" + e.out
}

// SeesCheckout is Python that exits with a message unless sys.argv[1], the
// checkout's root, is visible: a PTH_TORCH2 chroot whose bind mount is missing
// or stale (an earlier clone's, at the same path) would otherwise fail each
// round trip with "can't open file".
const SeesCheckout = `import os, sys
if not os.path.exists(os.path.join(sys.argv[1], "go.mod")):
    sys.exit("does not see the checkout at %s: run testdata/gen/torch2_chroot.sh --setup (as root) to bind-mount it" % sys.argv[1])`

// Command returns the command that runs this Python with args. Paths in args
// must be absolute (a chroot starts in its own root) and, for PTH_TORCH2's
// Python, inside the checkout: use TempDir and Generator.
func (p PyTorch) Command(args ...string) *exec.Cmd {
	return exec.Command(p.prefix[0], append(append([]string{}, p.prefix[1:]...), args...)...)
}

// TempDir returns a temporary directory, removed when the test ends, that this
// Python sees at the same path: t.TempDir() for /usr/bin/python3, a directory
// in the checkout's root for PTH_TORCH2's (the chroot sees only the checkout).
func (p PyTorch) TempDir(t testing.TB) string {
	t.Helper()
	if p.env == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(Root(), ".torch2-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Root returns the checkout's root directory, as an absolute path.
func Root() string {
	root, err := filepath.Abs(filepath.Join(Dir(), "..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}
