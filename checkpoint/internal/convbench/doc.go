// Command convbench runs one conversion (or a baseline) for measuring time and
// peak memory with /usr/bin/time -v; see BENCHMARKS.md.
//
//	convbench convert IN OUT   checkpoint.Convert(IN, OUT)
//	convbench open IN NAME     open IN and read the first element of tensor NAME
//	convbench copy IN OUT      copy the file with io.Copy (cp's work, in Go)
//	convbench baseline         start the Go runtime and exit (RSS baseline)
package main
