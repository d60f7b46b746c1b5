package modtree_test

import (
	"path/filepath"
	"testing"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modtreetest"
)

// TestEntireModels reads torch.save(model) files (zip and legacy stream, PyTorch 1.13
// OrderedDict layout) through pth.Open and compares the recovered tree and state_dict
// with what PyTorch recorded for the model in memory.
func TestEntireModels(t *testing.T) {
	checkEntireModels(t, modtreetest.Dir())
}

// TestLargeEntireModels does the same for torchvision's mobilenet_v3_small and resnet18.
func TestLargeEntireModels(t *testing.T) {
	checkEntireModels(t, modtreetest.Large(t))
}

func checkEntireModels(t *testing.T, dir string) {
	models := modtreetest.Load(t, dir)
	for name, m := range models {
		for _, kind := range []string{"zip", "legacy"} {
			t.Run(name+"_"+kind, func(t *testing.T) {
				f, err := pth.Open(filepath.Join(dir, m.Files[kind]), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				n, err := modtree.Parse(f.Root)
				if err != nil {
					t.Fatal(err)
				}
				modtreetest.CheckTree(t, "", n, m.Tree, true)
				modtreetest.CheckStateDict(t, n.StateDict(), m.StateDict)
			})
		}
	}
}
