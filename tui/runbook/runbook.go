// Package runbook renders a service's disaster-recovery runbook
// (core.Runbook) as the page a person reads on the worst day: Markdown that
// reads as plain text too, with the commands that bring the service back on
// a fresh host. The command line writes it and the console shows it; both
// take the one page from here. It names the command line's commands and
// flags, which is why it lives outside core: core gathers the facts, this
// phrases them.
package runbook

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Options say what the page cannot learn from the runbook itself.
type Options struct {
	// Catalog names the catalog the page was written from (a path, or a
	// URL without its password).
	Catalog string
}

// CommandsHeading is the heading of the section whose first shell block
// holds, one per line, the commands that bring the service back.
const CommandsHeading = "## Bring it back on a fresh host"

// FileName is where the page of service is written by default.
func FileName(service string) string { return "runbook-" + service + ".md" }

// Render writes rb as the runbook page. It holds no secret: rb holds none,
// and where one is needed the page names the variable or file it comes
// from.
func Render(rb core.Runbook, o Options) string {
	p := &page{rb: rb, o: o}
	p.title()
	p.service()
	p.copies()
	p.recovery()
	p.restorers()
	p.commands()
	return p.b.String()
}

type page struct {
	rb core.Runbook
	o  Options
	b  strings.Builder
}

func (p *page) f(format string, a ...any) { fmt.Fprintf(&p.b, format, a...) }
func (p *page) line(s string)             { p.b.WriteString(s + "\n") }

func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04 MST") }

// age is how old a recovery point is, to the minute past an hour.
func age(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
	}
	return core.FormatTarget(d)
}

func (p *page) title() {
	rb := p.rb
	p.f("# Disaster-recovery runbook: %s\n\n", rb.Service.Name)
	p.f("Written %s from the catalog %s, by `odoo-backup runbook %s`.\n", when(rb.WrittenAt), p.catalogName(), rb.Service.Name)
	p.line("It says what the catalog knew then: write it again after any change, and keep a copy away from this host (on paper too).")
	p.line("It holds no secret: it says where each one comes from.")
	p.line("")
}

func (p *page) catalogName() string {
	if p.o.Catalog == "" {
		return "(unnamed)"
	}
	return p.o.Catalog
}

func (p *page) service() {
	rb, s := p.rb, p.rb.Service
	p.line("## The service")
	p.line("")
	p.f("- Host: %s\n", rb.Host)
	p.f("- Database: %s on %s, as PostgreSQL user %s (password: %s)\n", s.DB.Database, s.DB.Address(), s.DB.User, describeSource(rb.PGPassword, "none: peer or trust authentication"))
	p.f("- Filestore: %s\n", orNone(s.FilestoreDir, "none set"))
	if s.OdooConf != "" {
		p.f("- odoo.conf: %s\n", s.OdooConf)
	}
	if b := rb.Newest; b != nil {
		p.f("- Odoo %s, PostgreSQL %s (of backup %d, %s)\n", orNone(b.OdooVersion, "unknown"), orNone(b.PGVersion, "unknown"), b.ID, when(goodAt(*b)))
	} else {
		p.line("- Odoo and PostgreSQL versions: unknown, there is no good backup yet")
	}
	state := rb.State
	if len(rb.Problems) > 0 {
		state += ": " + strings.Join(rb.Problems, "; ")
	}
	p.f("- Health: %s\n", state)
	p.line("")
}

func (p *page) copies() {
	p.line("## Where the copies are")
	p.line("")
	if len(p.rb.Copies) == 0 {
		p.line("Nowhere: the service has no configuration, so no backup is taken on its own.")
		p.line("")
		return
	}
	for _, c := range p.rb.Copies {
		d, cfg := c.Destination, c.Configuration
		title := d.Name
		if cfg.Primary {
			title += " (primary)"
		}
		p.f("### %s\n\n", title)
		if d.Kind == core.DestinationLocal {
			p.f("- Where: local directory %s\n", d.Local.Dir)
		} else {
			s := d.S3
			tls := "TLS"
			if s.NoTLS {
				tls = "plain HTTP"
			}
			p.f("- Where: S3 endpoint %s (%s), region %s, bucket %s, prefix %s\n", s.Endpoint, tls, orNone(s.Region, "discovered"), s.Bucket, orNone(s.Prefix, "none"))
			p.f("- Access key: %s; secret key: %s\n", orNone(s.AccessKey, "none"), describeSource(c.SecretKey, "none"))
			if s.SSE != "" {
				p.f("- Server-side encryption: %s%s\n", s.SSE, prefixed(", key ", s.SSEKMSKeyID))
			}
			if s.CAFile != "" {
				p.f("- Certificate authority trusted: %s\n", s.CAFile)
			}
		}
		p.f("- Layout: %s\n", core.DescribeLayout(d.StoredLayout()))
		if d.Lock.Enabled() {
			p.f("- Object Lock: %s, %d days: what a backup writes there cannot be deleted before then, even with the bucket's root credentials in compliance mode\n", d.Lock.Mode, d.Lock.Days)
		}
		if d.Limits.Upload > 0 || d.Limits.Download > 0 {
			p.f("- Bandwidth limits: upload %s, download %s (a restore from it takes at least its size divided by the download limit)\n", core.FormatRate(d.Limits.Upload), core.FormatRate(d.Limits.Download))
		}
		p.f("- Schedule: %s; retention: %s", cfg.Schedule.Describe(cfg.Frequency), cfg.Retention)
		if cfg.Drill != core.Manual {
			p.f("; drill: %s", cfg.Drill)
		}
		p.line("")
		if b := c.Newest; b != nil {
			p.f("- Newest good backup: %d, %s, %s\n", b.ID, when(goodAt(*b)), core.FormatSize(b.Size))
		} else {
			p.line("- Newest good backup: none")
		}
		if c.Health.State != "" {
			p.f("- State: %s%s\n", c.Health.State, prefixed(": ", c.Health.Reason))
		}
		p.f("- Encryption: %s\n", encryption(c))
		if encrypted(c) {
			p.f("- Where its key is kept: %s\n", orNone(d.Encrypt.KeyNote, "not noted in the catalog; find out now, a lost key means lost backups"))
		}
		p.line("")
	}
}

func encrypted(c core.RunbookCopy) bool {
	return c.Destination.Encrypt.Recipient != "" || c.Passphrase.IsSet()
}

func encryption(c core.RunbookCopy) string {
	e := c.Destination.Encrypt
	switch {
	case c.Passphrase.IsSet():
		return "age, with a passphrase (" + describeSource(c.Passphrase, "") + ")"
	case e.KeyFile != "":
		return "age, to recipient " + e.Recipient + "; the identity that decrypts it is the file " + e.KeyFile + " on this host"
	case e.Recipient != "":
		return "age, to recipient " + e.Recipient + "; its identity is kept off this host (restore, verify and drill need it)"
	}
	return "none"
}

func (p *page) recovery() {
	r := p.rb.Recovery
	p.line("## Recovery point and time")
	p.line("")
	if r.RPO != nil {
		p.f("- RPO: %s (newest good backup %s)%s\n", age(r.RPO.Age()), when(r.RPO.At), target(r.RPOTargetSeconds, r.RPOMissed))
	} else {
		p.f("- RPO: no good backup yet%s\n", target(r.RPOTargetSeconds, r.RPOMissed))
	}
	for _, d := range r.Destinations {
		p.f("  - on %s: %s (%s)\n", d.Destination, age(d.Age()), when(d.At))
	}
	if t := r.RTO; t != nil {
		p.f("- RTO: %s, measured by %s %d of backup %d on %s%s\n", core.FormatTarget(t.Duration()), t.Source, t.ID, t.BackupID, when(t.At), target(r.RTOTargetSeconds, r.RTOMissed))
	} else {
		p.f("- RTO: never measured (a drill measures it)%s\n", target(r.RTOTargetSeconds, r.RTOMissed))
	}
	if d := p.rb.LastDrill; d != nil {
		at := d.StartedAt
		if d.FinishedAt != nil {
			at = *d.FinishedAt
		}
		p.f("- Last drill: %d, %s, %s, backup %d on %s\n", d.ID, when(at), d.Status, d.BackupID, d.Destination)
		det := d.Details
		checked := []string{fmt.Sprintf("%d filestore files restored, %d missing", det.FilestoreFiles, det.MissingFiles)}
		if len(det.Checks) > 0 {
			checked = append([]string{strings.Join(det.Checks, ", ")}, checked...)
		}
		p.f("  - checked: %s\n", strings.Join(checked, "; "))
		for _, pr := range det.Problems {
			p.f("  - problem: %s\n", pr)
		}
		if d.Error != "" {
			p.f("  - error: %s\n", d.Error)
		}
	} else {
		p.line("- Last drill: none yet")
	}
	p.line("")
}

func target(seconds int64, missed bool) string {
	if seconds == 0 {
		return "; no target"
	}
	s := "; target " + core.FormatTarget(time.Duration(seconds)*time.Second)
	if missed {
		return s + ", MISSED"
	}
	return s + ", met"
}

func (p *page) restorers() {
	rb := p.rb
	p.line("## Who may restore")
	p.line("")
	switch {
	case !rb.SharedCatalog:
		p.f("Whoever can read the catalog file %s and run odoo-backup as root on this host (an SQLite catalog has no roles).\n", p.catalogName())
	case rb.RestorersErr != "":
		p.f("The database users with the admin role on the catalog, and its owner; they could not be listed: %s\n", rb.RestorersErr)
	default:
		p.line("The database users with the admin role on the catalog, and its owner:")
		p.line("")
		for _, m := range rb.Restorers {
			p.f("- %s (%s)\n", m.User, m.Role)
		}
	}
	p.line("")
}

// secret is one secret the commands need: the variable (or file) it is
// given through and what it is.
type secret struct{ name, what string }

var notEnv = regexp.MustCompile(`[^A-Z0-9_]+`)

// envName is the variable a secret of name is given through, e.g.
// S3_SECRET_KEY_S3_EU for destination s3-eu.
func envName(prefix, name string) string {
	return prefix + "_" + notEnv.ReplaceAllString(strings.ToUpper(name), "_")
}

func (p *page) commands() {
	rb, s := p.rb, p.rb.Service
	var secrets []secret
	var files []string
	var cmds []string
	cmds = append(cmds, "# 1. Install odoo-backup (Go 1.26 and the PostgreSQL client tools of the server's version or newer), in a checkout of its source:",
		"go install ./cmd/odoo-backup")
	if rb.SharedCatalog {
		cmds = append(cmds, "# A shared catalog that still answers needs only its fleet's key and its address: odoo-backup key install-catalog FILE,",
			"# then ODOO_BACKUP_CATALOG=postgres://USER@HOST:PORT/DATABASE, and go on at step 5. Without it, start a new catalog here:")
	}
	cmds = append(cmds, "# 2. The destinations, with the same settings:")
	identity := map[string]string{}
	for _, c := range rb.Copies {
		d := c.Destination
		args := []string{"odoo-backup", "destination", "add", quote(d.Name)}
		if d.Kind == core.DestinationLocal {
			args = append(args, "--dir", quote(d.Local.Dir))
		} else {
			st := d.S3
			args = append(args, "--endpoint", quote(st.Endpoint), "--bucket", quote(st.Bucket))
			if st.Region != "" {
				args = append(args, "--region", quote(st.Region))
			}
			if st.Prefix != "" {
				args = append(args, "--prefix", quote(st.Prefix))
			}
			if st.AccessKey != "" {
				args = append(args, "--access-key", quote(st.AccessKey))
			}
			switch ref := c.SecretKey.Ref; {
			case ref != "":
				args = append(args, "--secret-key-ref", quote(ref))
				secrets = append(secrets, refSecret(ref, "the S3 secret key of destination "+d.Name+", read at each use (give the daemon it too)"))
			case c.SecretKey.Stored:
				v := envName("S3_SECRET_KEY", d.Name)
				args = append(args, "--secret-key-env", v)
				secrets = append(secrets, secret{v, "the S3 secret key of destination " + d.Name + prefixed(" (access key ", st.AccessKey) + closing(st.AccessKey)})
			}
			if st.NoTLS {
				args = append(args, "--no-tls")
			}
			switch st.SSE {
			case core.SSES3:
				args = append(args, "--sse", "s3")
			case core.SSEKMS:
				args = append(args, "--sse", "kms")
				if st.SSEKMSKeyID != "" {
					args = append(args, "--sse-kms-key-id", quote(st.SSEKMSKeyID))
				}
			}
			if st.CAFile != "" {
				args = append(args, "--ca-file", quote(st.CAFile))
				files = append(files, st.CAFile+": the certificate authority of "+d.Name+"'s endpoint")
			}
		}
		e := d.Encrypt
		note := prefixed("; kept: ", e.KeyNote)
		switch {
		case c.Passphrase.IsSet():
			v := envName("PASSPHRASE", d.Name)
			args = append(args, "--encrypt-passphrase-env", v)
			secrets = append(secrets, secret{v, "the encryption passphrase of destination " + d.Name + note})
		case e.KeyFile != "":
			args = append(args, "--encrypt-key", quote(e.KeyFile))
			files = append(files, e.KeyFile+": the age identity that decrypts "+d.Name+" (recipient "+e.Recipient+"), mode 0600"+note)
		case e.Recipient != "":
			args = append(args, "--encrypt-recipient", quote(e.Recipient))
			v := envName("IDENTITY_FILE", d.Name)
			identity[d.Name] = v
			secrets = append(secrets, secret{v, "the path of the age identity file of recipient " + e.Recipient + " (destination " + d.Name + ")" + note})
		}
		if e.KeyNote != "" && (c.Passphrase.IsSet() || e.KeyFile != "" || e.Recipient != "") {
			args = append(args, "--key-note", quote(e.KeyNote))
		}
		args = append(args, "--layout", string(d.StoredLayout()))
		if d.Lock.Enabled() {
			args = append(args, "--object-lock", string(d.Lock.Mode), "--lock-days", fmt.Sprint(d.Lock.Days))
		}
		if d.Limits.Upload > 0 {
			args = append(args, "--limit-upload", rateArg(d.Limits.Upload))
		}
		if d.Limits.Download > 0 {
			args = append(args, "--limit-download", rateArg(d.Limits.Download))
		}
		cmds = append(cmds, strings.Join(args, " "))
	}
	cmds = append(cmds, "# 3. The history, read back from the destinations (the backups keep their ids):",
		"odoo-backup catalog rebuild",
		"# 4. The service, its connection and its schedules:")
	args := []string{"odoo-backup", "service", "add", quote(s.Name), "--db", quote(s.DB.Database),
		"--pg-host", quote(s.DB.Host), "--pg-port", fmt.Sprint(s.DB.Port), "--pg-user", quote(s.DB.User)}
	switch ref := rb.PGPassword.Ref; {
	case ref != "":
		args = append(args, "--pg-password-ref", quote(ref))
		secrets = append(secrets, refSecret(ref, "the PostgreSQL password of user "+s.DB.User+" on "+s.DB.Address()+", read at each use"))
	case rb.PGPassword.Stored:
		v := envName("PG_PASSWORD", s.Name)
		args = append(args, "--pg-password-env", v)
		secrets = append(secrets, secret{v, "the PostgreSQL password of user " + s.DB.User + " on " + s.DB.Address()})
	}
	if s.FilestoreDir != "" {
		args = append(args, "--filestore", quote(s.FilestoreDir))
	}
	// Its database is made by the restore below.
	args = append(args, "--no-check")
	cmds = append(cmds, strings.Join(args, " "))
	for _, c := range rb.Copies {
		cmds = append(cmds, configCommand(s.Name, c.Configuration))
	}
	for _, h := range rb.Hooks {
		cmds = append(cmds, fmt.Sprintf("odoo-backup hook set %s %s %s --timeout %s", quote(s.Name), h.Event, quote(h.Command), h.Timeout))
		files = append(files, fmt.Sprintf("%s: the service's %s hook, executable, owned by root and writable by no one else", h.Command, h.Event))
	}
	owner := quote(rb.DatabaseOwner)
	if rb.DatabaseOwner == "" {
		owner = `"$ODOO_DB_ROLE"`
		secrets = append(secrets, secret{"ODOO_DB_ROLE", "the PostgreSQL role Odoo connects as, which owns its database (not known when this page was written: " + rb.OwnerErr + ")"})
	}
	newDB := func(b core.Backup) string {
		a := []string{"odoo-backup", "restore", fmt.Sprint(b.ID), "--new-db", quote(s.DB.Database)}
		if s.FilestoreDir != "" {
			a = append(a, "--filestore", quote(s.FilestoreDir))
		}
		a = append(a, "--owner", owner, "--no-neutralize")
		return strings.Join(a, " ") + identityFlag(b.Destination, identity)
	}
	if b := rb.Newest; b != nil {
		cmds = append(cmds, fmt.Sprintf("# 5. The data: the newest good backup, %d on %s (%s), as the service's database, then check it:", b.ID, b.Destination, when(goodAt(*b))),
			newDB(*b),
			"odoo-backup verify "+fmt.Sprint(b.ID)+identityFlag(b.Destination, identity),
			"odoo-backup drill "+quote(s.Name)+" --destination "+quote(b.Destination)+identityFlag(b.Destination, identity))
	} else {
		cmds = append(cmds, "# 5. There is no good backup to restore.")
	}

	p.line(CommandsHeading)
	p.line("")
	p.f("Before: PostgreSQL answers on %s, where user %s may create databases and Odoo's role exists; the service's database %s does not exist there (the restore creates it", s.DB.Address(), s.DB.User, s.DB.Database)
	if s.FilestoreDir != "" {
		p.f(", and its filestore %s, in a directory that must exist, owned by Odoo's system user", s.FilestoreDir)
	}
	p.line(").")
	p.line("")
	if len(secrets)+len(files) > 0 {
		p.line("Have these at hand, from wherever the team keeps them (this page never holds them), and export each variable in the shell first (`export NAME=...`):")
		p.line("")
		for _, sc := range secrets {
			p.f("- `%s`: %s\n", sc.name, sc.what)
		}
		for _, f := range files {
			p.f("- the file %s\n", f)
		}
		p.line("")
	}
	p.line("Then, in order:")
	p.line("")
	p.line("```sh")
	for _, c := range cmds {
		p.line(c)
	}
	p.line("```")
	p.line("")
	b := rb.Newest
	if b == nil {
		return
	}
	p.line("If the service's database is still there (the host survived, its data did not), replace its data instead of step 5's restore; a safety backup of what is there is taken first:")
	p.line("")
	p.f("    %s\n\n", restoreCommand(s.Name, *b, identity))
	var alt []string
	for _, c := range rb.Copies {
		if o := c.Newest; o != nil && o.ID != b.ID {
			alt = append(alt, fmt.Sprintf("- from %s, backup %d (%s, %s): `%s`", c.Destination.Name, o.ID, when(goodAt(*o)), core.FormatSize(o.Size), newDB(*o)))
		}
	}
	if len(alt) > 0 {
		p.f("If %s is lost too, restore the newest good backup of another destination at step 5 instead:\n\n", b.Destination)
		for _, a := range alt {
			p.line(a)
		}
		p.line("")
	}
}

func restoreCommand(service string, b core.Backup, identity map[string]string) string {
	return fmt.Sprintf("odoo-backup restore %d --service %s --yes%s", b.ID, quote(service), identityFlag(b.Destination, identity))
}

func identityFlag(dest string, identity map[string]string) string {
	if v, ok := identity[dest]; ok {
		return ` --identity "$` + v + `"`
	}
	return ""
}

// configCommand is the config set that gives c back its schedule,
// retention, drill and primary flag.
func configCommand(service string, c core.Configuration) string {
	args := []string{"odoo-backup", "config", "set", quote(service), quote(c.Destination)}
	if c.Frequency == core.Manual {
		args = append(args, "--frequency", "manual")
	} else {
		args = append(args, "--frequency", string(c.Frequency))
	}
	s := c.Schedule
	at := fmt.Sprintf("%02d:%02d", s.Hour, s.Minute)
	switch c.Frequency {
	case core.Hourly:
		args = append(args, "--minute", fmt.Sprint(s.Minute))
	case core.Daily:
		args = append(args, "--at", at)
	case core.Weekly:
		args = append(args, "--weekday", strings.ToLower(s.Weekday.String()[:3]), "--at", at)
	case core.Monthly:
		args = append(args, "--day", fmt.Sprint(s.MonthDay), "--at", at)
	}
	switch r := c.Retention; {
	case r.GFS != nil && *r.GFS != core.GFS{}:
		args = append(args, "--keep-gfs", r.GFS.String())
	case r.KeepLast > 0:
		args = append(args, "--keep", fmt.Sprint(r.KeepLast))
	}
	if c.Drill != core.Manual {
		args = append(args, "--drill", string(c.Drill))
		if c.Frequency == core.Manual {
			args = append(args, "--at", at)
		}
	}
	if c.Primary {
		args = append(args, "--primary")
	}
	return strings.Join(args, " ")
}

// refSecret is a secret kept by reference: the variable to set, or the
// file to put back.
func refSecret(ref, what string) secret {
	kind, where, _ := strings.Cut(ref, ":")
	if kind == "env" {
		return secret{where, what}
	}
	return secret{where, "a file holding " + what + ", readable by its owner only"}
}

func describeSource(s core.SecretSource, none string) string {
	switch {
	case s.Ref != "":
		kind, where, _ := strings.Cut(s.Ref, ":")
		if kind == "env" {
			return "read from the environment variable " + where + " at each use"
		}
		return "read from the file " + where + " at each use"
	case s.Stored:
		return "sealed in the catalog, not written here"
	}
	return none
}

// safeWord is what a shell reads as itself.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// quote makes s one shell word.
func quote(s string) string {
	if safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func closing(s string) string {
	if s == "" {
		return ""
	}
	return ")"
}

func goodAt(b core.Backup) time.Time {
	if b.FinishedAt != nil {
		return *b.FinishedAt
	}
	return b.StartedAt
}

// rateArg writes a bandwidth limit as the command line reads it back
// exactly: as people write it when that is exact, else in bytes.
func rateArg(b int64) string {
	if s := strings.ReplaceAll(core.FormatRate(b), " ", ""); mustRate(s) == b {
		return s
	}
	return fmt.Sprintf("%dB/s", b)
}

func mustRate(s string) int64 {
	n, err := core.ParseRate(s)
	if err != nil {
		return -1
	}
	return n
}
