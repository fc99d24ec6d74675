package core

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// OdooConfDatabaseError: an odoo.conf does not name exactly one database.
// Candidates are the databases it could mean (those Odoo's role owns, or
// the ones db_name lists), so the front end can ask for one of them.
type OdooConfDatabaseError struct {
	Conf       string
	Reason     string
	Candidates []string
}

func (e *OdooConfDatabaseError) Error() string {
	return fmt.Sprintf("%s names no single database: %s", e.Conf, e.Reason)
}

func (e *OdooConfDatabaseError) Unwrap() error { return ErrInvalid }

// DatabaseLister lists the databases an Odoo role owns on a server.
type DatabaseLister func(ctx context.Context, owner string) ([]string, error)

// ListOwnedDatabases lists, as Odoo's database manager does, the databases
// on the server of conn that owner (the connecting user when empty) owns,
// leaving out templates, databases that refuse connections and "postgres".
func ListOwnedDatabases(conn DBConn) DatabaseLister {
	return func(ctx context.Context, owner string) ([]string, error) {
		conn.Database = "postgres"
		c, err := ConnectDB(ctx, conn)
		if err != nil {
			return nil, err
		}
		defer c.Close(context.WithoutCancel(ctx))
		names, err := odoosql.OwnedDatabases(ctx, c, owner)
		if err != nil {
			return nil, classifyPGError(conn, err)
		}
		return names, nil
	}
}

// OdooConfDatabase picks the database an odoo.conf serves, as Odoo would:
// db_name when it names one database; else, when dbfilter is set, the one
// database (of those Odoo's role owns) that it matches from its start. A
// dbfilter using %h or %d depends on the host of each request, so it names
// no database by itself. Any other case is an OdooConfDatabaseError with
// the candidates.
func OdooConfDatabase(ctx context.Context, conf OdooConf, list DatabaseLister) (string, error) {
	fail := func(cands []string, format string, args ...any) (string, error) {
		return "", &OdooConfDatabaseError{Conf: conf.Path, Reason: fmt.Sprintf(format, args...), Candidates: cands}
	}
	var named []string
	for _, n := range strings.Split(conf.DBName, ",") {
		if n = strings.TrimSpace(n); n != "" {
			named = append(named, n)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	if conf.DBFilter == "" {
		if len(named) > 1 {
			return fail(named, "db_name lists %d databases", len(named))
		}
		all, err := list(ctx, conf.DBUser)
		if err != nil {
			return "", err
		}
		return fail(all, "it has neither db_name nor dbfilter")
	}
	if strings.Contains(conf.DBFilter, "%h") || strings.Contains(conf.DBFilter, "%d") {
		all, err := list(ctx, conf.DBUser)
		if err != nil {
			return "", err
		}
		return fail(all, "its dbfilter %q depends on the host name each request comes by (%%h, %%d)", conf.DBFilter)
	}
	// Python's re.match anchors at the start only.
	re, err := regexp.Compile(`^(?:` + conf.DBFilter + `)`)
	if err != nil {
		return fail(nil, "its dbfilter %q is not a regular expression Go's RE2 syntax can read (%v)", conf.DBFilter, err)
	}
	all, err := list(ctx, conf.DBUser)
	if err != nil {
		return "", err
	}
	var matched []string
	for _, db := range all {
		if re.MatchString(db) {
			matched = append(matched, db)
		}
	}
	if len(named) > 1 {
		// Odoo serves the listed databases the filter matches.
		matched = slices.DeleteFunc(matched, func(db string) bool { return !slices.Contains(named, db) })
	}
	switch len(matched) {
	case 1:
		return matched[0], nil
	case 0:
		return fail(all, "its dbfilter %q matches none of the databases %s owns", conf.DBFilter, ownerName(conf))
	}
	return fail(matched, "its dbfilter %q matches %d databases", conf.DBFilter, len(matched))
}

func ownerName(conf OdooConf) string {
	if conf.DBUser == "" {
		return "the connecting user"
	}
	return conf.DBUser
}
