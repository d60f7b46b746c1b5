package pth

import (
	"errors"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
)

// TestWeightsOnlyFixtures checks weights-only mode against PyTorch's verdicts.
//
// The manifest records what PyTorch 1.13's torch.load(weights_only=True) did.
// pth follows current PyTorch (internal/safeglobals), whose rules differ from
// 1.13's in known ways, so the expectations are derived from the record:
//
//   - a file 1.13 accepted is accepted (the allow-list only grew), except tar
//     files, which PyTorch refuses with weights_only since 2.6;
//   - a file with a global that 1.13 called unsafe and that is still off the
//     current allow-list is refused with ErrUnsafeGlobal naming the first such
//     global in stream order, in PyTorch's words;
//   - a pickle of protocol 4 or 5 is refused (FRAME and the other new opcodes
//     are not among the weights-only opcodes) unless a global is named first.
func TestWeightsOnlyFixtures(t *testing.T) {
	m := loadManifest(t)
	checked := 0
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		if fx.Large || fx.Format == "pickle" {
			continue // torch.load never reads a plain pickle ("Invalid magic number")
		}
		t.Run(strings.TrimPrefix(fx.File, "testdata/fixtures/"), func(t *testing.T) {
			f, err := Open(fx.File, &Options{WeightsOnly: true})
			if f != nil {
				defer f.Close()
			}
			var stillUnsafe []string
			for _, g := range fx.UnsafeGlobals {
				mod, name, _ := strings.Cut(g, ".")
				// split at the last dot: module names contain dots
				if k := strings.LastIndexByte(g, '.'); k > 0 {
					mod, name = g[:k], g[k+1:]
				}
				cm, cn := safeglobals.Canonical(mod, name)
				if !safeglobals.WeightsOnlyAllowed(cm, cn) && !(cm == "torch" && safeglobals.IsStorageClassName(cn)) {
					stillUnsafe = append(stillUnsafe, safeglobals.DisplayName(cm, cn))
				}
			}
			switch {
			case fx.Format == "torch-tar":
				if !errors.Is(err, ErrWeightsOnly) {
					t.Fatalf("tar file: got %v, want ErrWeightsOnly", err)
				}
			case fx.WeightsOnlyOK:
				if err != nil {
					t.Fatalf("PyTorch loads it with weights_only; we refuse: %v", err)
				}
			case len(stillUnsafe) > 0:
				if !errors.Is(err, ErrUnsafeGlobal) {
					t.Fatalf("got %v, want ErrUnsafeGlobal for %s", err, stillUnsafe[0])
				}
				want := "Unsupported global: GLOBAL " + stillUnsafe[0] + " was not an allowed global by default. " +
					"Please use `torch.serialization.add_safe_globals([" + stillUnsafe[0] + "])`"
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q lacks %q", err, want)
				}
				// Allow-listing every reported global lets the file through the global check.
				var e *Error
				if !errors.As(err, &e) || e.File == "" {
					t.Errorf("error %v does not name the file", err)
				}
			case fx.PickleProtocol >= 4:
				if !errors.Is(err, ErrWeightsOnly) && !errors.Is(err, ErrUnsafeGlobal) {
					t.Fatalf("protocol %d: got %v, want a weights-only refusal", fx.PickleProtocol, err)
				}
			default:
				// 1.13 refused for a reason current PyTorch dropped (BINFLOAT, globals
				// since allowed): no independent verdict to compare with.
				t.Logf("1.13 refused, current rules: %v", err)
				return
			}
			checked++
		})
	}
	if checked < 20 {
		t.Fatalf("only %d fixtures had a verdict to compare", checked)
	}
}

// TestWeightsOnlySafeGlobals: user allow-list entries let the named globals through.
func TestWeightsOnlySafeGlobals(t *testing.T) {
	path := fixturePath("zip/checkpoint.pt")
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	unsafe := f.UnsafeGlobals()
	f.Close()
	var rest []string
	for _, g := range unsafe {
		if g != "argparse.Namespace" {
			rest = append(rest, g)
		}
	}
	if len(rest) == len(unsafe) {
		t.Fatalf("checkpoint.pt: UnsafeGlobals %v lacks argparse.Namespace", unsafe)
	}
	_, err = Open(path, &Options{WeightsOnly: true, SafeGlobals: rest})
	if !errors.Is(err, ErrUnsafeGlobal) || !strings.Contains(err.Error(), "GLOBAL argparse.Namespace was not") {
		t.Fatalf("got %v, want argparse.Namespace refused", err)
	}
	f, err = Open(path, &Options{WeightsOnly: true, SafeGlobals: unsafe})
	if err != nil {
		t.Fatalf("with %v allowed: %v", unsafe, err)
	}
	f.Close()
}

// TestWeightsOnlyBlockedModule: os/posix/sys/nt are refused even when allow-listed.
func TestWeightsOnlyBlockedModule(t *testing.T) {
	// pickle.dumps of a REDUCE(posix.system, ('echo',)) at protocol 2.
	data := []byte("\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.")
	_, err := NewReader(&readerAt{data}, int64(len(data)), &Options{WeightsOnly: true, SafeGlobals: []string{"posix.system"}})
	if !errors.Is(err, ErrUnsafeGlobal) || !strings.Contains(err.Error(), "whose module posix is blocked") {
		t.Fatalf("got %v", err)
	}
	// Without weights-only it decodes to an inert object: nothing runs.
	f, err := NewReader(&readerAt{data}, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.UnsafeGlobals(); len(got) != 1 || got[0] != "posix.system" {
		t.Fatalf("UnsafeGlobals %v", got)
	}
}

// TestGlobalsStackGlobal: Globals resolves protocol-4 STACK_GLOBAL operands and
// protocol-0 GLOBAL lines, in order, once each. The pickles are CPython 3.11's
// pickle.dumps([collections.OrderedDict, argparse.Namespace(, collections.OrderedDict)], protocol=4 / 0).
func TestGlobalsStackGlobal(t *testing.T) {
	for _, data := range [][]byte{
		[]byte("\x80\x04\x95>\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94\x8c\x08argparse\x94\x8c\tNamespace\x94\x93\x94h\x03e."),
		[]byte("(lp0\nccollections\nOrderedDict\np1\nacargparse\nNamespace\np2\na."),
	} {
		f, err := NewReader(&readerAt{data}, int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if g := f.Globals(); len(g) != 2 || g[0] != "collections.OrderedDict" || g[1] != "argparse.Namespace" {
			t.Errorf("Globals %v", g)
		}
		if u := f.UnsafeGlobals(); len(u) != 1 || u[0] != "argparse.Namespace" {
			t.Errorf("UnsafeGlobals %v", u)
		}
		_, err = NewReader(&readerAt{data}, int64(len(data)), &Options{WeightsOnly: true})
		if !errors.Is(err, ErrWeightsOnly) && !errors.Is(err, ErrUnsafeGlobal) {
			t.Errorf("weights-only: %v", err)
		}
	}
}
