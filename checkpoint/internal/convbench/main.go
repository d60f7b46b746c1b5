package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pthkit/pth/checkpoint"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "convbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: convbench convert|open|copy|baseline …")
	}
	start := time.Now()
	defer func() { fmt.Fprintf(os.Stderr, "%s: %.3f s\n", args[0], time.Since(start).Seconds()) }()
	switch {
	case args[0] == "baseline":
		return nil
	case args[0] == "convert" && len(args) == 3:
		r, err := checkpoint.Convert(args[1], args[2], checkpoint.Options{})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%d tensors, %d bytes\n", r.Tensors, r.Bytes)
		return nil
	case args[0] == "open" && len(args) == 3:
		c, err := checkpoint.Open(args[1])
		if err != nil {
			return err
		}
		defer c.Close()
		t, err := c.Tensor(args[2])
		if err != nil {
			return err
		}
		b, err := t.ContiguousBytes()
		if err != nil {
			return err
		}
		if len(b) > 0 {
			fmt.Fprintf(os.Stderr, "first byte %d of %d\n", b[0], len(b))
		}
		return nil
	case args[0] == "copy" && len(args) == 3:
		in, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(args[2])
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return fmt.Errorf("bad arguments %q", args)
}
