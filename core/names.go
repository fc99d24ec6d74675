package core

import (
	"regexp"
)

// Names of services, destinations and templates appear in object keys, file
// paths and the console, so they are restricted to a set that is safe in all
// three: a letter or digit first, then letters, digits, '.', '_' and '-', at
// most 63 characters.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidateName checks a service, destination or template name.
func ValidateName(what, name string) error {
	if !nameRE.MatchString(name) {
		return Userf(ErrInvalid, "%s name %q is not allowed; use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", what, name)
	}
	return nil
}

// PostgreSQL database names are quoted wherever they reach SQL, but are still
// kept to a plain set so they are also safe as filestore directory names.
var dbNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$`)

// ValidateDatabaseName checks a PostgreSQL database name.
func ValidateDatabaseName(name string) error {
	if !dbNameRE.MatchString(name) {
		return Userf(ErrInvalid, "database name %q is not allowed; use 1 to 63 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}
