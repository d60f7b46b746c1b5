package pth_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/tensor"
)

// Open a checkpoint written by torch.save and list its tensors. Nothing runs:
// the pickle is decoded into inert values and the tensors are views of the
// memory-mapped file.
func ExampleOpen() {
	f, err := pth.Open("testdata/fixtures/zip/simplenet.pt", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.Format)
	for _, nt := range pth.Tensors(f.Root) {
		fmt.Println(nt.Path, nt.T.DType, nt.T.Shape)
	}
	// Output:
	// torch-zip
	// fc1.weight float32 [5 10]
	// fc1.bias float32 [5]
	// fc2.weight float32 [2 5]
	// fc2.bias float32 [2]
}

// Build a state_dict in Go and save it as torch.save would; PyTorch loads it
// with torch.load(path, weights_only=True).
func ExampleSaveStateDict() {
	dir, err := os.MkdirTemp("", "pth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "linear.pt")

	sd := &pth.StateDict{
		Keys: []string{"weight", "bias"},
		Tensors: map[string]*tensor.Tensor{
			"weight": tensor.FromFloat32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
			"bias":   tensor.FromFloat32([]int64{2}, []float32{0.5, -0.5}),
		},
	}
	if err := pth.SaveStateDict(path, sd); err != nil {
		log.Fatal(err)
	}
	back, err := pth.LoadStateDict(path)
	if err != nil {
		log.Fatal(err)
	}
	w, _ := back.Tensors["weight"].Float32s()
	fmt.Println(back.Keys, w)
	// Output:
	// [weight bias] [1 2 3 4 5 6]
}

// ExampleFile_ReadAhead reads every tensor of a mapped file, asking the kernel
// for each storage's bytes in one request before reading them.
func ExampleFile_ReadAhead() {
	dir, err := os.MkdirTemp("", "pth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "linear.pt")
	sd := &pth.StateDict{
		Keys:    []string{"weight"},
		Tensors: map[string]*tensor.Tensor{"weight": tensor.FromFloat32([]int64{2, 2}, []float32{1, 2, 3, 4})},
	}
	if err := pth.SaveStateDict(path, sd); err != nil {
		log.Fatal(err)
	}
	f, err := pth.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, nt := range pth.Tensors(f.Root) {
		f.ReadAhead(nt.T.Storage)
		b, err := nt.T.ContiguousBytes()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(nt.Path, len(b), "bytes")
	}
	// Output:
	// weight 16 bytes
}
