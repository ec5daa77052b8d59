package hardware

import "testing"

func TestBoards(t *testing.T) {
	for _, name := range []string{"pc", "rpi4", "rpi5", "qemu-amd64", "qemu-arm64"} {
		b, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if b.Name != name || b.KernelModule == "" || b.Console == "" || b.BootStartLBA == 0 {
			t.Errorf("%s: incomplete entry %+v", name, b)
		}
		if b.Boot != BootUEFI && b.Boot != BootRPi {
			t.Errorf("%s: boot method %q", name, b.Boot)
		}
		if (b.GOARCH == "amd64") != (b.RootTypeGUID == TypeRootAMD64) {
			t.Errorf("%s: root type %s for %s", name, b.RootTypeGUID, b.GOARCH)
		}
	}
	if _, err := Lookup("toaster"); err == nil {
		t.Error("Lookup(toaster) succeeded")
	}
}
