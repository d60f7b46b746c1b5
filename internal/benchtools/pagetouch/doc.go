// Command pagetouch measures what a process pays to touch memory it has never
// touched, the cost that separates a cold open of a many-tensor checkpoint from
// a warm one (BENCHMARKS.md, issue 2). It allocates MiB of fresh Go heap (or
// fresh anonymous mappings) and writes a byte per 4 KiB page, in each of
// several ways, in fresh child processes, and prints one line per way:
//
//	go run ./internal/benchtools/pagetouch            # 8 MiB, each way 3 times
//	go run ./internal/benchtools/pagetouch -mib 16 -runs 5
//
// The ways: "heap" (make, then a write per page: what an open does),
// "heap+populate" (make, madvise(MADV_POPULATE_WRITE), then the writes),
// "heap, 2 threads" (two halves written by two goroutines at once),
// "mmap+hugepage" (an anonymous mapping with madvise(MADV_HUGEPAGE), which
// the Go runtime does not ask for its heap) and "heap again" (the same pages
// written a second time). Linux only.
package main
