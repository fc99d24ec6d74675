package main

import (
	"strings"
	"testing"
)

// Wrong usage exits 2 with one sentence on stderr; --help exits 0.
func TestWrongUsageExitsTwo(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"backpu", "x"}, "did you mean backup"},
		{[]string{"destination"}, "odoo-backup destination needs a command: add, list"},
		{[]string{"destination", "frobnicate"}, `unknown command "destination frobnicate"`},
		{[]string{"catalog", "rebuld"}, "did you mean rebuild?"},
		{[]string{"completion", "foo"}, `unknown command "completion foo"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"frobnicate", "--help"}, `unknown command "frobnicate"`},
		{[]string{"--catalog", "/srv/catalog.db", "service", "frobnicate", "-h"}, `unknown command "service frobnicate"`},
		{[]string{"help", "service", "frobnicate"}, `unknown command "service frobnicate"`},
		{[]string{"backup", "--nope", "x"}, "unknown flag: --nope"},
		{[]string{"backups", "--limit", "abc"}, `--limit takes a whole number, not "abc"`},
		{[]string{"backups", "--limit", "-3"}, "--limit -3 is negative"},
		{[]string{"backups", "--kind", "weekly"}, `--kind "weekly" is not a kind of backup`},
		{[]string{"backups", "a", "b"}, "usage: odoo-backup backups [SERVICE]"},
		{[]string{"restore"}, "odoo-backup restore is missing its arguments; usage: odoo-backup restore BACKUP_ID"},
		{[]string{"restore", "abc", "--service", "x"}, `"abc" is not a backup id`},
		{[]string{"service", "add"}, "usage: odoo-backup service add NAME"},
		{[]string{"service", "add", "shop", "--db", "my db"}, `database name "my db" is not allowed`},
		{[]string{"service", "copy", "prod", "my copy", "--db", "copy"}, `service name "my copy" is not allowed`},
		{[]string{"service", "copy", "prod", "copy", "--db", "my db"}, `database name "my db" is not allowed`},
		{[]string{"restore", "1", "--new-db", "my db", "--yes"}, `database name "my db" is not allowed`},
		{[]string{"destination", "add", "my nas", "--dir", "/srv/nas"}, `destination name "my nas" is not allowed`},
		{[]string{"destination", "test", "nas", "--timeout", "0s"}, "--timeout 0s is not a duration above zero"},
		{[]string{"template", "add", "my template"}, `template name "my template" is not allowed`},
		{[]string{"service", "add", "shop", "--db", "shop", "--pg-port", "99999"}, "--pg-port 99999 is not a port; give one between 1 and 65535"},
		{[]string{"service", "update", "nosuch", "--pg-port", "0"}, "--pg-port 0 is not a port"},
		{[]string{"status", "extra"}, `odoo-backup status takes no arguments, and was given "extra"`},
		{[]string{"config", "set", "nosuch", "nosuch", "--frequency", "often"}, `frequency "often" is not one of`},
		{[]string{"config", "set", "nosuch", "nosuch", "--keep-gfs", "zz"}, `retention rule "zz"`},
		{[]string{"template", "set", "nosuch", "nosuch", "--at", "25:00"}, `time "25:00" is not HH:MM`},
		{[]string{"--daemon", "--shutdown-timeout", "soon"}, "takes a duration such as 90s"},
		{[]string{"--daemon", "--max-concurrent", "0"}, "--max-concurrent 0 is not a number of backups to run at once; give 1 or more"},
		{[]string{"--daemon", "--shutdown-timeout", "0s"}, "--shutdown-timeout 0s is not a duration above zero"},
		{[]string{"--max-concurrent", "0"}, "--max-concurrent only goes with --daemon; the console does not take it"},
		{[]string{"--read-only", "--metrics-listen", ":9860"}, "--metrics-listen only goes with --daemon"},
		{[]string{"--shutdown-timeout", "1m"}, "--shutdown-timeout only goes with --daemon"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c.fails(2, tc.want, tc.args...)
		})
	}
	for _, args := range [][]string{{"--help"}, {"service", "--help"}, {"help"}, {"help", "backup"}, {"help", "service", "add"}, {"completion", "bash"},
		{"--catalog", "/srv/catalog.db", "--help"}, {"--max-concurrent", "3", "-h"}, {"--daemon", "--help"}, {"-v", "service", "--log-format", "json", "--help"}} {
		if r := c.run(args...); r.code != 0 || r.stdout == "" {
			t.Errorf("odoo-backup %s: exit %d with %d bytes of output, want 0 and the help\n%s", strings.Join(args, " "), r.code, len(r.stdout), r.stderr)
		}
	}
}
