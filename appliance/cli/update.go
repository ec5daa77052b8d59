package cli

import (
	"flag"
	"fmt"
	"log"

	"facteur/appliance/update"
)

// updateCmd runs "facteur update apply FILE [-force]" (on the device, as
// root: verifies the bundle, writes the inactive slot and reboots to test
// it) and "facteur update status".
func updateCmd(args []string, env Env) error {
	if len(args) == 0 {
		return usageError("update: want apply FILE or status")
	}
	fs := flag.NewFlagSet("update "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	force := fs.Bool("force", false, "install even if the bundle's build is not newer")
	perm := fs.String("perm", "/perm", "the device's data partition")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	fw := update.ReadFirmware(update.RootEtc)
	switch args[0] {
	case "status":
		return updateStatus(env, fw, *perm)
	case "apply":
		if fs.NArg() != 1 {
			return usageError("update apply takes one bundle file")
		}
		dev, err := update.OpenDevice(update.DeviceOptions{})
		if err != nil {
			return fmt.Errorf("not running from a Facteur disk image: %w", err)
		}
		logf := log.New(env.Stderr, "", 0).Printf
		return update.Install(dev, fw, fs.Arg(0), *force, logf)
	}
	return usageError(fmt.Sprintf("update: unknown command %q", args[0]))
}

func updateStatus(env Env, fw update.Firmware, perm string) error {
	fmt.Fprintf(env.Stdout, "firmware %s (build %d, board %s, channel %s)\n", fw.Version, fw.Build, fw.Board, fw.Channel)
	st, err := update.LoadState(perm)
	if err != nil {
		return err
	}
	if p := st.Pending; p != nil {
		fmt.Fprintf(env.Stdout, "pending: %s (build %d) in slot %s, not committed yet\n", p.Version, p.Build, p.Slot)
	}
	as, err := update.ReadStatus(update.Dir(perm))
	if err != nil {
		return err
	}
	if o := as.Offer; o != nil {
		when := "when the admin says so"
		if !as.Scheduled.IsZero() {
			when = "at " + as.Scheduled.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(env.Stdout, "offered: %s (build %d, from the %s), to be installed %s\n", o.Version, o.Build, o.Source, when)
	}
	if as.Phase != "" {
		fmt.Fprintf(env.Stdout, "now: %s\n", as.Phase)
	}
	if as.Error != "" {
		fmt.Fprintf(env.Stdout, "last problem: %s\n", as.Error)
	}
	for _, e := range st.History {
		fmt.Fprintf(env.Stdout, "%s  %-20s %s (build %d) %s\n", e.Time.Format("2006-01-02 15:04"), e.What, e.Version, e.Build, e.Detail)
	}
	return nil
}
