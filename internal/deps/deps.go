package deps
import (
 _ "github.com/spf13/cobra"
 _ "gonum.org/v1/gonum/blas/gonum"
 _ "golang.org/x/sys/unix"
 _ "github.com/schollz/progressbar/v3"
)
