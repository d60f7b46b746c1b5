//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pagetouch: Linux only (it measures Linux page faults)")
	os.Exit(2)
}
