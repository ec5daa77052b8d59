package main

import (
	"os"
	"os/exec"
	"strings"

	"github.com/gokrazy/gokrazy"

	"facteur/appliance/update"
)

// boot runs gokrazy's system setup.
func boot(version string) error {
	return gokrazy.Boot(version)
}

// supervise starts the services; gokrazy restarts any that exits with a
// status other than 0 or 125.
func supervise(fw update.Firmware) error {
	serve := append([]string{"serve"}, readArgs(update.RootEtc+"/serve-args")...)
	cmds := []*exec.Cmd{
		exec.Command("/user/facteur", serve...),
		exec.Command("/user/facteur", "firewall"),
		exec.Command("/user/facteur", "dns"),
		exec.Command("/gokrazy/dhcp"),
	}
	var services []*gokrazy.Service
	for _, c := range cmds {
		c.Env = append(os.Environ(), "FACTEUR_FIRMWARE="+fw.Version)
		services = append(services, gokrazy.NewService(c))
	}
	// ntp needs the network; it retries on its own.
	services = append(services, gokrazy.NewService(exec.Command("/gokrazy/ntp")))
	return gokrazy.SuperviseServices(services)
}

// readArgs reads one argument per line; a missing file means none.
func readArgs(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var args []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			args = append(args, l)
		}
	}
	return args
}
