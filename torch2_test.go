package pth

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth/internal/safeglobals"
	"github.com/pthkit/pth/tensor"
)

// torch2Gaps lists the PyTorch 2.6 fixtures (by file) that pth does not yet
// read as PyTorch does, with the reason; the tests skip them by name so the
// gap stays visible. Remove an entry when the fix lands.
var torch2Gaps = map[string]string{}

// seesCheckout is modtreetest.SeesCheckout (which this package's tests cannot
// import: modtreetest imports pth): Python that exits with a message unless
// sys.argv[1], the checkout's root, is visible to PTH_TORCH2's Python.
const seesCheckout = `import os, sys
if not os.path.exists(os.path.join(sys.argv[1], "go.mod")):
    sys.exit("does not see the checkout at %s: run testdata/gen/torch2_chroot.sh --setup (as root) to bind-mount it" % sys.argv[1])`

// skipGap skips the test of a fixture listed in torch2Gaps.
func skipGap(t *testing.T, file string) {
	t.Helper()
	if why, ok := torch2Gaps[file]; ok {
		t.Skipf("known gap: %s", why)
	}
}

// TestWeightsOnlyFixturesTorch2 checks weights-only mode against PyTorch 2.6's
// own verdicts. 2.6's allow-list, opcodes and Python 2 name mapping are the
// current rules pth follows, so every verdict must match exactly: a file 2.6
// loads with weights_only=True opens, a file it refuses is refused, naming the
// first global off the allow-list in stream order in PyTorch's words.
func TestWeightsOnlyFixturesTorch2(t *testing.T) {
	m := loadManifestFile(t, manifest2)
	if !m.torch2() {
		t.Fatalf("%s: torch_version %q", manifest2, m.TorchVersion)
	}
	ok, refused := 0, 0
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		if fx.Format == "pickle" {
			continue
		}
		t.Run(strings.TrimPrefix(fx.File, "testdata/fixtures/"), func(t *testing.T) {
			f, err := Open(fx.File, &Options{WeightsOnly: true})
			if f != nil {
				defer f.Close()
			}
			if fx.WeightsOnlyOK {
				ok++
				if err != nil {
					t.Fatalf("PyTorch %s loads it with weights_only; we refuse: %v", m.TorchVersion, err)
				}
				return
			}
			refused++
			if err == nil {
				t.Fatalf("PyTorch %s refuses it with weights_only; we open it", m.TorchVersion)
			}
			if len(fx.UnsafeGlobals) == 0 {
				// Refused for its opcodes (protocol 4/5 FRAME and friends).
				if !errors.Is(err, ErrWeightsOnly) {
					t.Fatalf("got %v, want ErrWeightsOnly", err)
				}
				return
			}
			g := fx.UnsafeGlobals[0]
			k := strings.LastIndexByte(g, '.')
			name := safeglobals.DisplayName(safeglobals.Canonical(g[:k], g[k+1:]))
			want := "Unsupported global: GLOBAL " + name + " was not an allowed global by default."
			if !errors.Is(err, ErrUnsafeGlobal) || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want ErrUnsafeGlobal with %q", err, want)
			}
		})
	}
	if ok < 20 || refused < 5 {
		t.Fatalf("only %d accepted and %d refused fixtures", ok, refused)
	}
}

// TestConvertRoundTripTorch2 converts every PyTorch 2.6 fixture with Convert
// and has PyTorch 2.6 load the result — with weights_only=True where it loads
// the original that way — and compare it with the original
// (testdata/gen/roundtrip_check.py: values, dtypes, strides, storage sharing,
// Parameters and their attributes, OrderedDict metadata).
//
// PTH_TORCH2 is the command prefix that runs Python with PyTorch 2.x, e.g.
// "chroot /var/tmp/trixie python3" (see testdata/gen/torch2_chroot.sh); it
// must see this checkout at the same path. The test skips when it is unset.
func TestConvertRoundTripTorch2(t *testing.T) {
	prefix := strings.Fields(os.Getenv("PTH_TORCH2"))
	if len(prefix) == 0 && os.Getenv("CI") != "" {
		t.Fatal("CI is set but PTH_TORCH2 is not: .ci/run sets up the PyTorch 2.x peer (testdata/gen/torch2_chroot.sh --setup)")
	}
	if len(prefix) == 0 {
		t.Skip("PTH_TORCH2 is not set (a command prefix running Python with PyTorch 2.x, " +
			"e.g. PTH_TORCH2='chroot /var/tmp/trixie python3')")
	}
	m := loadManifestFile(t, manifest2)
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(prefix[0], append(prefix[1:], "-c", seesCheckout, root)...).CombinedOutput(); err != nil {
		t.Fatalf("PTH_TORCH2=%q: %v\n%s", strings.Join(prefix, " "), err, out)
	}
	// Inside the checkout: a chroot that bind-mounts it sees the same paths.
	dir, err := os.MkdirTemp(root, ".torch2-roundtrip-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pairs := map[bool][][2]string{} // by weights_only
	for _, fx := range m.Fixtures {
		if fx.Format == "pickle" || torch2Gaps[fx.File] != "" {
			continue
		}
		out := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(fx.File, "testdata/fixtures/torch2/"), "/", "_"))
		if err := Convert(fx.File, out, nil); err != nil {
			t.Errorf("%s: Convert: %v", fx.File, err)
			continue
		}
		pairs[fx.WeightsOnlyOK] = append(pairs[fx.WeightsOnlyOK], [2]string{filepath.Join(root, fx.File), out})
	}
	if len(pairs[true]) < 20 {
		t.Fatalf("only %d weights-only fixtures converted", len(pairs[true]))
	}
	for _, wo := range []bool{true, false} {
		got := checkPairsWith(t, prefix, filepath.Join(root, "testdata/gen/roundtrip_check.py"), pairs[wo], wo)
		for _, p := range pairs[wo] {
			if r, ok := got[p[0]]; !ok || r != "" {
				t.Errorf("%s: PyTorch 2.x (weights_only=%v): %q", p[0], wo, r)
			}
		}
		t.Logf("weights_only=%v: PyTorch 2.x checked %d converted files", wo, len(got))
	}
}

// TestConjNegTorch2 checks the conjugate and negative bits of PyTorch 2.6's
// conj_neg fixtures against its manifest (TestFixtures checks their values),
// and that Save writes them back as 2.6 does: the data.pkl of the zip fixture,
// read and saved again, is byte-identical to the one torch.save wrote.
func TestConjNegTorch2(t *testing.T) {
	m := loadManifestFile(t, manifest2)
	n := 0
	for i := range m.Fixtures {
		fx := &m.Fixtures[i]
		if fx.Large || fx.Format == "pickle" {
			continue
		}
		f, err := Open(fx.File, nil)
		if err != nil {
			t.Errorf("%s: %v", fx.File, err)
			continue
		}
		lv := leaves(t, f.Root)
		for _, want := range fx.Tensors {
			var x *tensor.Tensor
			switch v := lv[want.Path].(type) {
			case *tensor.Tensor:
				x = v
			case *Parameter:
				x = v.Tensor
			default:
				continue
			}
			if x.Conj != want.Conj || x.Neg != want.Neg {
				t.Errorf("%s: %s: conj %v neg %v, PyTorch conj %v neg %v", fx.File, want.Path, x.Conj, x.Neg, want.Conj, want.Neg)
			}
			if want.Conj || want.Neg {
				n++
			}
		}
		f.Close()
	}
	if n < 4 {
		t.Fatalf("only %d conjugate or negative views in the manifest", n)
	}

	const file = "testdata/fixtures/torch2/zip/conj_neg.pt"
	f, err := Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := SaveTo(&buf, "conj_neg", f.Root); err != nil {
		t.Fatal(err)
	}
	pklOf := func(r io.ReaderAt, size int64) []byte {
		zr, err := zip.NewReader(r, size)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := zr.Open("conj_neg/data.pkl")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pklOf(bytes.NewReader(buf.Bytes()), int64(buf.Len())), pklOf(bytes.NewReader(orig), int64(len(orig))); !bytes.Equal(got, want) {
		t.Errorf("data.pkl differs from PyTorch 2.6's:\n got %q\nwant %q", got, want)
	}
	g, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := leaves(t, f.Root), leaves(t, g.Root)
	for _, k := range []string{"conj", "neg", "plain"} {
		x, y := a[k].(*tensor.Tensor), b[k].(*tensor.Tensor)
		if x.Conj != y.Conj || x.Neg != y.Neg || !tensor.Equal(x, y) {
			t.Errorf("%s: saved and read again: conj %v neg %v, was conj %v neg %v", k, y.Conj, y.Neg, x.Conj, x.Neg)
		}
	}
}
