// Package diff implements `pth diff A B`: a tensor-by-tensor comparison of two
// checkpoints of any formats (PyTorch, safetensors, GGUF, sharded sets), over
// checkpoint.Diff. The exit status is 0 when they are equal, 1 when they differ
// and 2 on error.
package diff
