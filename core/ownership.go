package core

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
)

// restoreOwner is who a restored database and filestore belong to (SPEC
// rule 7): onto a service, the replaced database's owner and the replaced
// filestore's owner, group and modes; a new database, the chosen role and
// the owner of the directory it goes into.
type restoreOwner struct {
	role string // the database's owner, owner of every object in it
	fs   fsOwnership
	// fsSet: fs was taken from a replaced tree; otherwise stageRestore
	// takes it from the parent directory.
	fsSet bool
}

// fsOwnership is the owner and modes a filestore tree gets.
type fsOwnership struct {
	uid, gid int
	chown    bool // running as root: hand every entry to uid:gid
	rootMode fs.FileMode
	dirMode  fs.FileMode
	fileMode fs.FileMode
}

// ownershipOfTree reads the owner, group and modes of an existing filestore:
// the root's, the first directory's under it and the first file's. ok is
// false when dir does not exist.
func ownershipOfTree(dir string) (o fsOwnership, ok bool) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return o, false
	}
	o = fsOwnership{rootMode: fi.Mode().Perm()}
	if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix {
		o.uid, o.gid = int(st.Uid), int(st.Gid)
	}
	o.chown = os.Geteuid() == 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		switch {
		case d.IsDir() && o.dirMode == 0:
			o.dirMode = info.Mode().Perm()
		case info.Mode().IsRegular() && o.fileMode == 0:
			o.fileMode = info.Mode().Perm()
		}
		if o.dirMode != 0 && o.fileMode != 0 {
			return fs.SkipAll
		}
		return nil
	})
	if o.dirMode == 0 {
		o.dirMode = o.rootMode
	}
	if o.fileMode == 0 {
		o.fileMode = o.dirMode &^ 0o111
	}
	return o, true
}

// ownershipFromParent is the ownership of a new filestore made in parent:
// when running as root, the parent's owner and group unless that is root;
// directories with the parent's mode (never writable by others) and files
// with the same bits less execute. A parent of 0755 (Odoo's) gives 0755
// directories and 0644 files.
func ownershipFromParent(parent string) fsOwnership {
	o := fsOwnership{rootMode: 0o700, dirMode: 0o700, fileMode: 0o600}
	fi, err := os.Stat(parent)
	if err != nil {
		return o
	}
	o.dirMode = fi.Mode().Perm() & 0o755
	o.rootMode, o.fileMode = o.dirMode, o.dirMode&^0o111
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
		o.uid, o.gid, o.chown = int(st.Uid), int(st.Gid), true
	}
	return o
}

// apply gives path its owner and mode.
func (o fsOwnership) apply(path string, mode fs.FileMode) error {
	if o.chown {
		if err := os.Lchown(path, o.uid, o.gid); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}

// databaseOwner is the owner of database db on server, "" if there is no
// such database.
func databaseOwner(ctx context.Context, server DBConn, db string) (string, error) {
	admin, err := ConnectDB(ctx, server)
	if err != nil {
		return "", err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	owner, err := odoosql.DatabaseOwner(ctx, admin, db)
	if err != nil {
		return "", fmt.Errorf("look up the owner of database %s: %w", db, err)
	}
	return owner, nil
}

// newDatabaseOwner is the owner of a new database restored from a backup of
// svc: the chosen role, which must exist and not be a superuser; by
// default the owner of svc's database if it exists, else svc's connection
// role.
func newDatabaseOwner(ctx context.Context, svc Service, server DBConn, chosen string) (string, error) {
	if chosen == "" {
		owner, err := databaseOwner(ctx, server, svc.DB.Database)
		if err != nil || owner != "" {
			return owner, err
		}
		return svc.DB.User, nil
	}
	admin, err := ConnectDB(ctx, server)
	if err != nil {
		return "", err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	super, exists, err := odoosql.RoleIsSuperuser(ctx, admin, chosen)
	switch {
	case err == nil && !exists:
		return "", Userf(ErrNotFound, "the owner role %q does not exist on PostgreSQL at %s; create it (CREATE ROLE %s LOGIN PASSWORD '...') or choose an existing role", chosen, server.Address(), quoteIdent(chosen))
	case err != nil:
		return "", fmt.Errorf("look up role %s: %w", chosen, err)
	case super:
		return "", Userf(ErrInvalid, "the owner role %q is a superuser, and an Odoo database must not belong to one (Odoo refuses to run as a superuser and the database's owner could then do anything on the server); choose the role Odoo connects as", chosen)
	}
	return chosen, nil
}
