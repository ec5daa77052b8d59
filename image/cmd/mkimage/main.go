// Command mkimage builds Facteur's firmware image and signed update
// bundles: mkimage build|bundle|keygen (see -h of each).
package main

import (
	"fmt"
	"os"

	"facteur/image"
)

func main() {
	if err := image.Main(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}
