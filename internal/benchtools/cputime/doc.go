// Package cputime reads the process's CPU time, which pth's benchmarks report
// beside wall time: on a shared machine it stays meaningful when wall time
// does not.
package cputime
