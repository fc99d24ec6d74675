package odoozip

import (
	"errors"
	"strings"
)

var (
	errEmptyPath = errors.New("is empty")
	errAbsPath   = errors.New("is absolute")
	errDotPath   = errors.New("has a '.' or '..' segment")
	errBadChar   = errors.New("contains a backslash, a control character or an empty segment")
	errLongPath  = errors.New("is longer than 1024 bytes")
)

// checkRelPath refuses anything that could escape the directory it is
// extracted into, or that a filesystem could read differently.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errEmptyPath
	case len(p) > 1024:
		return errLongPath
	case p[0] == '/':
		return errAbsPath
	}
	for _, c := range []byte(p) {
		if c < 0x20 || c == 0x7f || c == '\\' || c == ':' {
			return errBadChar
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return errBadChar
		case ".", "..":
			return errDotPath
		}
	}
	return nil
}
