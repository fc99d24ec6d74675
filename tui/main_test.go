package tui

import (
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// servers are the real PostgreSQL and MinIO of the tests that drive the
// console against the real engine, started by the first of them that asks;
// unit tests of screens use a catalog only and start nothing.
var servers testbed.Servers

// testHost is this host's name in every test, so no frame shows the
// machine's.
const testHost = "console-host"

func TestMain(m *testing.M) {
	core.SetHostName(testHost)
	testbed.Main(m, &servers)
}
