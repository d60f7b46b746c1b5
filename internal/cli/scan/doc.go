// Package scan implements `pth scan`: what every pickle in a file would do if
// Python loaded it, judged by allow-list, explained by deny-list.
package scan
