// Command facteur runs the Facteur mail appliance and administers it.
package main

import (
	"os"

	"facteur/appliance/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], cli.OSEnv())) }
