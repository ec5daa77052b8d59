package update

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// RootEtc is where the image builder puts firmware.json, the trusted keys
// (keys/*.pub), the update feed URL and the serve role's extra arguments.
const RootEtc = "/etc/facteur"

// Firmware describes the running image; mkimage writes it to
// RootEtc/firmware.json.
type Firmware struct {
	Product string `json:"product"`
	Board   string `json:"board"`
	Version string `json:"version"`
	Build   uint64 `json:"build"`
	Channel string `json:"channel"`
}

// ReadFirmware reads dir/firmware.json; a missing or broken file gives a
// Firmware with Version "unknown" (the agent then refuses every bundle for
// lack of a board).
func ReadFirmware(dir string) Firmware {
	fw := Firmware{Version: "unknown"}
	if b, err := os.ReadFile(filepath.Join(dir, "firmware.json")); err == nil {
		json.Unmarshal(b, &fw)
	}
	return fw
}
