package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/internal/benchtools/cputime"
)

func main() {
	prefault := flag.Int("prefault", 0, "touch this many MiB of heap (then free it) before timing, to tell first-touch costs of fresh memory from the open's own work")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: openbench [-prefault MiB] FILE")
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *prefault > 0 {
		b := make([]byte, *prefault<<20)
		for i := range b {
			b[i] = 1
		}
		b = nil
		runtime.GC()
	}
	// best runs fn n times and returns its shortest wall time and, separately,
	// its smallest process CPU time (user+system, all threads: the garbage
	// collector's too), which a loaded machine disturbs far less.
	// The first run of the first call is also kept as the cold figure: a
	// fresh process whose heap has not grown yet, as a user's one-off open
	// (and each of bench_torch.py's runs) sees it.
	var coldWall, coldCPU time.Duration
	best := func(n int, fn func() error) (wall, cpu time.Duration, err error) {
		for i := 0; i < n; i++ {
			c0, t0 := cputime.Process(), time.Now()
			if err := fn(); err != nil {
				return 0, 0, err
			}
			d, c := time.Since(t0), cputime.Process()-c0
			if coldWall == 0 {
				coldWall, coldCPU = d, c
			}
			if i == 0 || d < wall {
				wall = d
			}
			if i == 0 || c < cpu {
				cpu = c
			}
		}
		return wall, cpu, nil
	}
	var ntensors int
	openIndex, openCPU, err := best(7, func() error {
		f, err := pth.Open(path, nil)
		if err != nil {
			return err
		}
		defer f.Close()
		ntensors = len(pth.Tensors(f.Root))
		return nil
	})
	if err != nil {
		fail(err)
	}
	var rssAfterOpen int64 = peakRSS()
	var nbytes int64
	var checksum uint32
	readAll, _, err := best(3, func() error {
		f, err := pth.Open(path, nil)
		if err != nil {
			return err
		}
		defer f.Close()
		nbytes = 0
		var sum uint32
		for _, nt := range pth.Tensors(f.Root) {
			f.ReadAhead(nt.T.Storage) // one madvise per storage instead of a fault per few pages
			b, err := nt.T.ContiguousBytes()
			if err != nil {
				return err
			}
			// Read every byte (CRC-32 is hardware-accelerated, so this measures the
			// reading, not the arithmetic).
			sum = crc32.Update(sum, crc32.IEEETable, b)
			nbytes += int64(len(b))
		}
		checksum = sum
		return nil
	})
	if err != nil {
		fail(err)
	}
	out := map[string]any{
		"file": path, "tensors": ntensors, "bytes": nbytes, "crc32": checksum,
		"open_index_seconds": openIndex.Seconds(), "open_index_cpu_seconds": openCPU.Seconds(),
		"cold_open_index_seconds": coldWall.Seconds(), "cold_open_index_cpu_seconds": coldCPU.Seconds(),
		"read_all_seconds":       readAll.Seconds(),
		"read_gb_per_s":          float64(nbytes) / readAll.Seconds() / 1e9,
		"peak_rss_mb_after_open": float64(rssAfterOpen) / 1024, "peak_rss_mb": float64(peakRSS()) / 1024,
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// peakRSS returns the process's peak resident set size in KiB.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Maxrss
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "openbench:", err)
	os.Exit(1)
}
