// Package filecopy copies a byte range of one file into another inside the kernel
// (copy_file_range on Linux) when both ends are files, so converting a checkpoint moves
// tensor bytes without bringing them into the process; elsewhere it falls back to io.Copy.
package filecopy
