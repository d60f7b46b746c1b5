//go:build linux

package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const page = 4096

var ways = []string{"heap", "heap+populate", "heap, 2 threads", "mmap+hugepage", "heap again"}

func main() {
	mib := flag.Int("mib", 8, "MiB to touch")
	runs := flag.Int("runs", 3, "fresh processes per way")
	child := flag.String("way", "", "run one way in this process (used by the parent)")
	flag.Parse()
	n := *mib << 20
	if *child != "" {
		d, faults, err := touchOnce(*child, n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pagetouch:", err)
			os.Exit(1)
		}
		fmt.Printf("%d %d\n", d.Nanoseconds(), faults)
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pagetouch:", err)
		os.Exit(1)
	}
	fmt.Printf("%d MiB (%d pages of 4 KiB), best of %d fresh processes each\n", *mib, n/page, *runs)
	for _, w := range ways {
		best, bestFaults := time.Duration(0), int64(0)
		for range *runs {
			out, err := exec.Command(self, "-mib", fmt.Sprint(*mib), "-way", w).Output()
			if err != nil {
				fmt.Fprintf(os.Stderr, "pagetouch: %s: %v\n", w, err)
				os.Exit(1)
			}
			var ns, faults int64
			if _, err := fmt.Sscan(string(out), &ns, &faults); err != nil {
				fmt.Fprintf(os.Stderr, "pagetouch: %s: %q: %v\n", w, out, err)
				os.Exit(1)
			}
			if d := time.Duration(ns); best == 0 || d < best {
				best, bestFaults = d, faults
			}
		}
		fmt.Printf("  %-16s %8.1f ms  %6.2f µs/page  %6d faults\n", w, float64(best)/1e6, float64(best)/1e3/float64(n/page), bestFaults)
	}
}

// touchOnce does one way in this (fresh) process and returns the time from
// allocating to the last write, and the minor and major faults taken meanwhile.
func touchOnce(way string, n int) (time.Duration, int64, error) {
	var b []byte
	if way == "heap again" {
		b = make([]byte, n)
		write(b)
	}
	f0 := faults()
	t0 := time.Now()
	switch way {
	case "heap", "heap again":
		if b == nil {
			b = make([]byte, n)
		}
		write(b)
	case "heap+populate":
		b = make([]byte, n)
		// whole pages inside b only: madvise needs a page-aligned start
		start := (uintptr(unsafe.Pointer(&b[0])) + page - 1) &^ (page - 1)
		skip := int(start - uintptr(unsafe.Pointer(&b[0])))
		if err := unix.Madvise(b[skip:skip+(n-skip)&^(page-1)], unix.MADV_POPULATE_WRITE); err != nil {
			return 0, 0, fmt.Errorf("madvise(MADV_POPULATE_WRITE): %w", err)
		}
		write(b)
	case "heap, 2 threads":
		b = make([]byte, n)
		var wg sync.WaitGroup
		for _, h := range [][]byte{b[:n/2], b[n/2:]} {
			wg.Go(func() { write(h) })
		}
		wg.Wait()
	case "mmap+hugepage":
		m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			return 0, 0, err
		}
		if err := unix.Madvise(m, unix.MADV_HUGEPAGE); err != nil {
			return 0, 0, fmt.Errorf("madvise(MADV_HUGEPAGE): %w", err)
		}
		write(m)
		b = m
	default:
		return 0, 0, fmt.Errorf("unknown way %q", way)
	}
	d := time.Since(t0)
	return d, faults() - f0, nil
}

// write writes one byte in each page of b.
func write(b []byte) {
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
}

func faults() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Minflt + ru.Majflt
}
