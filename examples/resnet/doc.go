// Command resnet runs torchvision's ResNet-18 architecture, written in Go with
// pth's nn package, on weights saved by PyTorch.
//
//	go run ./examples/resnet --weights resnet18.pth --input image.npy --json
//
// --weights takes a torchvision resnet18 state_dict (or a checkpoint or model
// file pth can extract one from), or an .npz of the state_dict's arrays.
// --input is a float32 NCHW .npy (default: one 224×224 image of a fixed
// pattern). The output is the logits; --json prints {"output": [[…]]}.
package main
