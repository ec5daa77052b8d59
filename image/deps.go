//go:build tools

// This file is never compiled. It names the modules the image builder uses
// without importing them from Go code (kernels and firmware it copies out
// of the module cache, gokrazy's dhcp and ntp programs it builds), so that
// `go mod tidy` keeps them in go.mod and go.sum.
package image

import (
	_ "github.com/gokrazy/firmware"
	_ "github.com/gokrazy/gokrazy/cmd/dhcp"
	_ "github.com/gokrazy/gokrazy/cmd/ntp"
	_ "github.com/gokrazy/kernel.amd64"
	_ "github.com/gokrazy/kernel.arm64"
	_ "github.com/gokrazy/kernel.rpi"
)
