package modfile_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree/modfile"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestOpen opens every fixture (torch.save(model) as zip and legacy stream, torch.jit
// script and trace; PyTorch 1.13's and 2.6's) and compares the tree with what PyTorch recorded: the eager model
// for pickles, torch.jit.load(f) for archives.
func TestOpen(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { testOpen(t, dir) })
	}
}

func testOpen(t *testing.T, dir string) {
	for name, m := range modtreetest.Load(t, dir) {
		for kind, file := range m.Files {
			t.Run(name+"_"+kind, func(t *testing.T) {
				md, err := modfile.Open(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				defer md.Close()
				switch kind {
				case "script", "trace":
					rec := m.Script
					if kind == "trace" {
						rec = m.Trace
					}
					if md.Kind != modfile.KindTorchScript {
						t.Errorf("kind %q, want %q", md.Kind, modfile.KindTorchScript)
					}
					modtreetest.CheckTree(t, "", md.Tree, rec.Tree, false)
					modtreetest.CheckStateDict(t, md.Tree.StateDict(), rec.StateDict)
				default:
					if md.Kind != modfile.KindPickle {
						t.Errorf("kind %q, want %q", md.Kind, modfile.KindPickle)
					}
					modtreetest.CheckTree(t, "", md.Tree, m.Tree, true)
					modtreetest.CheckStateDict(t, md.Tree.StateDict(), m.StateDict)
				}
				if err := md.Close(); err != nil {
					t.Fatal(err)
				}
				if err := md.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			})
		}
	}
}

// TestStateDict checks the state_dict against PyTorch's record for every fixture
// (PyTorch 1.13's and 2.6's):
// model.state_dict() for entire models, torch.jit.load(f).state_dict() for
// TorchScript (which keeps non-persistent buffers: the archive does not mark them).
// The tensors are read after StateDict has closed the file.
func TestStateDict(t *testing.T) {
	for _, dir := range modtreetest.Dirs() {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkStateDict(t, dir) })
	}
}

// TestStateDictLarge does the same for torchvision's resnet18 and mobilenet_v3_small.
func TestStateDictLarge(t *testing.T) {
	checkStateDict(t, modtreetest.Large(t))
}

func checkStateDict(t *testing.T, dir string) {
	for name, m := range modtreetest.Load(t, dir) {
		for kind, file := range m.Files {
			t.Run(name+"_"+kind, func(t *testing.T) {
				sd, gotKind, err := modfile.StateDict(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				want, wantKind := m.StateDict, modfile.KindPickle
				switch kind {
				case "script":
					want, wantKind = m.Script.StateDict, modfile.KindTorchScript
				case "trace":
					want, wantKind = m.Trace.StateDict, modfile.KindTorchScript
				}
				if gotKind != wantKind {
					t.Errorf("kind %q, want %q", gotKind, wantKind)
				}
				modtreetest.CheckStateDict(t, modtreetest.FromPth(sd.Keys, sd.Tensors, sd.Metadata), want)
			})
		}
	}
}

// TestNoModule: a state_dict file (torch.save(model.state_dict()), written by
// PyTorch) holds no module.
func TestNoModule(t *testing.T) {
	src := filepath.Join(modtreetest.Dir(), "..", "fixtures", "zip", "convnet.pt")
	if _, err := modfile.Open(src); !errors.Is(err, modfile.ErrNoModule) {
		t.Errorf("Open: got %v, want ErrNoModule", err)
	}
	if _, _, err := modfile.StateDict(src); !errors.Is(err, modfile.ErrNoModule) {
		t.Errorf("StateDict: got %v, want ErrNoModule", err)
	}
}

// TestLoadStateDictAnyFile: one call gives PyTorch's state_dict for a plain state_dict,
// an entire-model pickle and a TorchScript archive of the same SimpleNet (hashes
// recorded by PyTorch in testdata/models/manifest.json and testdata/fixtures/manifest.json).
func TestLoadStateDictAnyFile(t *testing.T) {
	for _, p := range []string{
		"../../testdata/models/simplenet_zip.pt",
		"../../testdata/models/simplenet_legacy.pt",
		"../../testdata/models/simplenet_script.pt",
		"../../testdata/models/simplenet_trace.pt",
	} {
		sd, err := modfile.LoadStateDict(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
		if strings.Join(sd.Keys, ",") != strings.Join(want, ",") {
			t.Errorf("%s: keys %v, PyTorch's state_dict has %v", p, sd.Keys, want)
		}
		b, err := sd.Tensors["fc1.weight"].ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		// sha256 of fc1.weight as PyTorch recorded it for this SimpleNet.
		if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != "9d8364696743f5242a43f228939d939a1e434ca15b079c74b442b01aa9c144ef" {
			t.Errorf("%s: fc1.weight sha256 %s", p, got)
		}
	}
	if _, err := modfile.LoadStateDict("../../testdata/fixtures/zip/simplenet.pt"); err != nil {
		t.Errorf("plain state_dict: %v", err)
	}
	if _, err := modfile.LoadStateDict("../../testdata/fixtures/zip/nested.pt"); !errors.Is(err, pth.ErrNoStateDict) {
		t.Errorf("nested lists, sets and numbers: %v, want ErrNoStateDict", err)
	}
}
