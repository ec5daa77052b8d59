// Command init is the first process of Facteur's firmware image: it calls
// gokrazy's Boot (mounts, /perm, hostname, watchdog), then supervises the
// facteur roles (serve, firewall, dns) and gokrazy's dhcp and ntp, and runs
// the update agent (health check after a test boot, commit or rollback,
// update feed polling).
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"facteur/appliance/update"
)

func main() {
	if err := run(); err != nil {
		log.Fatalf("facteur init: %v", err)
	}
	select {} // init must never exit
}

func run() error {
	fw := update.ReadFirmware(update.RootEtc)
	log.Printf("facteur firmware %s (build %d, board %s)", fw.Version, fw.Build, fw.Board)
	if err := boot(fw.Version); err != nil {
		return err
	}
	dev, err := update.OpenDevice(update.DeviceOptions{})
	if err != nil {
		log.Printf("update agent disabled: %v", err)
	} else {
		// Printed on the console: tests and people read which slot runs.
		fmt.Fprintf(os.Stderr, "facteur: running slot %s, firmware %s build %d\n", dev.Slot, fw.Version, fw.Build)
		agent := &update.Agent{Device: dev, Firmware: fw, Logf: log.Printf}
		go agent.Run(context.Background())
	}
	go showSetupURL(context.Background())
	return supervise(fw)
}
