package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// limitsOf reads the destination named name from destination list --json.
func (c *cli) limitsOf(name string) (core.BandwidthLimits, bool) {
	c.t.Helper()
	var dests []core.Destination
	c.json(&dests, "destination", "list")
	for _, d := range dests {
		if d.Name == name {
			return d.Limits, true
		}
	}
	return core.BandwidthLimits{}, false
}

func TestDestinationLimits(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(c.dir, "nas")

	// Bad rates: one sentence each with an example, exit 2, nothing stored.
	for _, bad := range []struct{ flag, value, says string }{
		{"--limit-upload", "0", "has no unit"},
		{"--limit-upload", "0MiB/s", "a rate of 0"},
		{"--limit-download", "fast", "not a number"},
		{"--limit-upload", "20MiB", "not per second"},
		{"--limit-upload", "20MiB/h", "not known"},
		{"--limit-download", "-5MB/s", "negative"},
		{"--limit-upload", "", "no rate given"},
	} {
		c.fails(2, bad.flag+": ", "destination", "add", "nas", "--dir", dir, bad.flag, bad.value)
		c.fails(2, bad.says, "destination", "add", "nas", "--dir", dir, bad.flag, bad.value)
		c.fails(2, "20MiB/s", "destination", "add", "nas", "--dir", dir, bad.flag, bad.value)
		if _, ok := c.limitsOf("nas"); ok {
			t.Fatalf("destination add with %s %q stored the destination", bad.flag, bad.value)
		}
	}

	out := c.ok("destination", "add", "nas", "--dir", dir, "--limit-upload", "20MiB/s", "--limit-download", "100Mbit/s")
	if !strings.Contains(out, "added") {
		t.Errorf("destination add said %q", out)
	}
	if l, _ := c.limitsOf("nas"); l != (core.BandwidthLimits{Upload: 20 << 20, Download: 12_500_000}) {
		t.Errorf("stored limits %+v; want 20 MiB/s up and 100 Mbit/s down", l)
	}
	if list := c.ok("destination", "list"); !strings.Contains(list, "LIMITS") || !strings.Contains(list, "up 20 MiB/s, down 11.92 MiB/s") {
		t.Errorf("destination list does not show the limits:\n%s", list)
	}

	out = c.ok("destination", "update", "nas", "--limit-upload", "none", "--limit-download", "5 MB/s")
	if !strings.Contains(out, "Its bandwidth limits: upload none, download 4.77 MiB/s.") {
		t.Errorf("destination update said %q", out)
	}
	if l, _ := c.limitsOf("nas"); l != (core.BandwidthLimits{Download: 5_000_000}) {
		t.Errorf("limits after the update %+v; want no upload limit and 5 MB/s down", l)
	}

	// A bad update changes nothing.
	c.fails(2, "--limit-download: a rate of 0", "destination", "update", "nas", "--limit-download", "0 KiB/s")
	c.fails(2, "--limit-upload: rate \"lots\" is not a number", "destination", "update", "nas", "--limit-upload", "lots", "--limit-download", "none")
	if l, _ := c.limitsOf("nas"); l != (core.BandwidthLimits{Download: 5_000_000}) {
		t.Errorf("limits after bad updates %+v; want them unchanged", l)
	}

	c.ok("destination", "update", "nas", "--limit-download", "off")
	if l, _ := c.limitsOf("nas"); l != (core.BandwidthLimits{}) {
		t.Errorf("limits after removing both %+v; want none", l)
	}
	if list := c.ok("destination", "list"); strings.Contains(list, "up ") {
		t.Errorf("destination list shows a limit after both were removed:\n%s", list)
	}
}
