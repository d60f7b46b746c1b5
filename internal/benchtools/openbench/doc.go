// Command openbench times what pth does where PyTorch runs torch.load: open a
// checkpoint, index every tensor, then read every tensor's bytes. It prints one JSON
// line; scripts/bench_load.sh runs it next to PyTorch on the same file and prints the ratios.
package main
