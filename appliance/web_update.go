package appliance

import (
	"facteur/appliance/update"
)

// UpdateOptions connect the web UI's update page to the device's update
// agent (appliance/update, run by init): they share files in
// Perm/update.
type UpdateOptions struct {
	Perm     string // the data partition, /perm on the device
	Keys     string // the trusted public keys
	Firmware update.Firmware
}
