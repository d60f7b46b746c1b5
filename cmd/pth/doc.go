// Command pth reads, writes, inspects, converts and scans PyTorch model files
// without Python and without executing code from them.
package main
