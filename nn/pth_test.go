package nn

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/internal/ziptest"
)

// TestLoadPyTorchFiles: state_dicts torch.save'd by PyTorch (float32 and float64)
// load strictly through pth.LoadStateDict and give PyTorch's outputs.
func TestLoadPyTorchFiles(t *testing.T) {
	for _, c := range []struct {
		file, ref string
		build     func() Forwarder
	}{
		{"simplenet.pth", "simplenet.pth", func() Forwarder { return NewSimpleNet(10, 5, 2) }},
		{"simplenet_f64.pth", "simplenet.pth", func() Forwarder { return NewSimpleNet(10, 5, 2) }},
		{"convnet.pth", "convnet.pth", func() Forwarder { return NewConvNet() }},
	} {
		sd, err := pth.LoadStateDict(filepath.Join(fixtureDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		m := c.build()
		if _, _, err := m.Module().LoadStateDict(sd, true); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		// The file's _metadata is what our StateDict writes.
		fk, fv := metaOf(t, sd)
		gk, gv := metaOf(t, m.Module().StateDict())
		if !reflect.DeepEqual(fk, gk) || !reflect.DeepEqual(fv, gv) {
			t.Errorf("%s: _metadata %v %v, ours %v %v", c.file, fk, fv, gk, gv)
		}
		m.Module().Eval()
		assertClose(t, c.file, m.Forward(readNpy(t, c.ref+".in.npy")), readNpy(t, c.ref+".out.npy"), 1e-5)
	}
}

// TestGoSavedLoadsInPyTorch: Go saves SimpleNet and ConvNet (with running
// statistics moved off their defaults by a training step); PyTorch loads each with
// load_state_dict(strict=True) and computes Go's outputs.
func TestGoSavedLoadsInPyTorch(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	ManualSeed(11)
	for _, c := range []struct {
		name, input string
		m           Forwarder
	}{
		{"simplenet", "simplenet.pth.in.npy", NewSimpleNet(10, 5, 2)},
		{"convnet", "convnet.pth.in.npy", NewConvNet()},
	} {
		x := readNpy(t, c.input)
		c.m.Forward(x) // training mode: BatchNorm updates its running stats and num_batches_tracked
		c.m.Module().Eval()
		want := c.m.Forward(x)
		path := filepath.Join(dir, c.name+".pth")
		if err := pth.SaveStateDict(path, c.m.Module().StateDict()); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, c.name+".out.npy")
		cmd := exec.Command(py, "../testdata/gen/nn_fixtures.py", "check-model", c.name, path, filepath.Join(fixtureDir, c.input), out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: PyTorch could not load Go's state_dict: %v\n%s", c.name, err, msg)
		}
		got, err := ToFloat32(mustNpy(t, out))
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, c.name+": PyTorch on Go's weights", got, want, 1e-5)
	}
}

// TestSavedFileMatchesPyTorch: PyTorch's weights loaded into the Go model and saved
// back give PyTorch's own file: data.pkl (keys, order, dtypes, storages, _metadata)
// and every tensor record byte for byte. The writer adds a byteorder record, as
// PyTorch ≥ 2.0 does; PyTorch 1.13 omits it.
func TestSavedFileMatchesPyTorch(t *testing.T) {
	for _, c := range []struct {
		file  string
		build func() Module
	}{
		{"simplenet.pth", func() Module { return NewSimpleNet(10, 5, 2) }},
		{"convnet.pth", func() Module { return NewConvNet() }},
	} {
		ref := filepath.Join(fixtureDir, c.file)
		sd, err := pth.LoadStateDict(ref)
		if err != nil {
			t.Fatal(err)
		}
		m := c.build()
		if _, _, err := m.Module().LoadStateDict(sd, true); err != nil {
			t.Fatal(err)
		}
		ours := filepath.Join(t.TempDir(), c.file) // same base name → same archive folder
		if err := pth.SaveStateDict(ours, m.Module().StateDict()); err != nil {
			t.Fatal(err)
		}
		want, got := zipRecords(t, ref), zipRecords(t, ours)
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Errorf("%s: our file lacks record %s", c.file, name)
				continue
			}
			if !bytes.Equal(g, w) {
				t.Errorf("%s: record %s differs from PyTorch's\n got %q\nwant %q", c.file, name, g, w)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok && !strings.HasSuffix(name, "/byteorder") {
				t.Errorf("%s: extra record %s", c.file, name)
			}
		}
	}
}

func zipRecords(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, r := range ziptest.FileRecords(t, path) {
		out[r.Name] = r.Data
	}
	return out
}
