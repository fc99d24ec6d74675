package core

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OdooConf is what odoo-backup needs from an odoo.conf: how Odoo reaches its
// database, and where its data directory is.
type OdooConf struct {
	Path       string
	DBHost     string
	DBPort     int
	DBUser     string
	DBPassword Secret
	DBName     string
	// DBFilter is Odoo's dbfilter: a regular expression the databases
	// Odoo serves must match (from their start, %h and %d standing for the
	// host and domain a request came by).
	DBFilter string
	DataDir  string
}

// ReadOdooConf reads an odoo.conf file.
func ReadOdooConf(path string) (OdooConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return OdooConf{}, Userf(err, "cannot read %s: %v; give the path of the Odoo configuration file", path, unwrapPath(err))
	}
	defer f.Close()
	c, err := ParseOdooConf(f)
	c.Path = path
	if err != nil {
		return c, Userf(fmt.Errorf("%w: %w", ErrInvalid, err), "%s is not a valid odoo.conf: %v", path, err)
	}
	return c, nil
}

// ParseOdooConf reads the [options] section the way Odoo's ConfigParser does:
// "key = value" or "key: value", comments starting with '#' or ';', and
// "False" or an empty value meaning unset.
func ParseOdooConf(r io.Reader) (OdooConf, error) {
	var c OdooConf
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section := ""
	sawOptions := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return c, fmt.Errorf("line %d: section header without ']'", n)
			}
			section = strings.TrimSpace(trimmed[1:end])
			sawOptions = sawOptions || section == "options"
			continue
		}
		if section != "options" {
			continue
		}
		i := strings.IndexAny(trimmed, "=:")
		if i <= 0 {
			if line[0] == ' ' || line[0] == '\t' {
				continue // continuation of a multi-line value we do not need
			}
			return c, fmt.Errorf("line %d: expected key = value", n)
		}
		// ConfigParser lower-cases option names.
		key := strings.ToLower(strings.TrimSpace(trimmed[:i]))
		val := strings.TrimSpace(trimmed[i+1:])
		if val == "False" || val == "None" {
			val = ""
		}
		switch key {
		case "db_host":
			c.DBHost = val
		case "db_port":
			if val != "" {
				p, err := strconv.Atoi(val)
				if err != nil || p <= 0 || p > 65535 {
					return c, fmt.Errorf("line %d: db_port %q is not a port number", n, val)
				}
				c.DBPort = p
			}
		case "db_user":
			c.DBUser = val
		case "db_password":
			c.DBPassword = Secret(val)
		case "db_name":
			c.DBName = val
		case "dbfilter":
			c.DBFilter = val
		case "data_dir":
			c.DataDir = val
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if !sawOptions {
		return c, fmt.Errorf("it has no [options] section")
	}
	return c, nil
}

// DefaultOdooDataDirs are where Odoo keeps its data when odoo.conf does not
// say: the service user's home of the Debian package, then the current user's.
func DefaultOdooDataDirs() []string {
	dirs := []string{"/var/lib/odoo/.local/share/Odoo", "/var/lib/odoo"}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "share", "Odoo"))
	}
	return dirs
}

// FilestoreFor picks the filestore of db: under dataDir if given, else the
// first default data directory that already has it, else the current user's.
func FilestoreFor(dataDir, db string) string {
	if dataDir != "" {
		return filepath.Join(dataDir, "filestore", db)
	}
	dirs := DefaultOdooDataDirs()
	for _, d := range dirs {
		p := filepath.Join(d, "filestore", db)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
	}
	return filepath.Join(dirs[len(dirs)-1], "filestore", db)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
