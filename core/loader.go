package core

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LoaderPrefix starts the name of the throwaway role a restore loads a dump
// as. A backup read back from a destination, or a file uploaded from
// elsewhere, is untrusted: its SQL runs as this role, which has no right
// beyond owning the staged database (NOSUPERUSER NOCREATEDB NOCREATEROLE
// NOREPLICATION NOBYPASSRLS, member of nothing), so COPY ... PROGRAM,
// server files, ALTER SYSTEM, CREATE ROLE, SET SESSION AUTHORIZATION and
// other databases are all refused by PostgreSQL itself. Once the load and
// every check of the staged database are done, everything the role owns is
// handed to the final owner and the role is dropped.
const LoaderPrefix = "odoo_backup_load_"

// loaderStaleAfter is when a loader role of another host, or one whose
// comment cannot be read, is taken for the leftover of a crash: no restore
// loads for that long.
const loaderStaleAfter = 48 * time.Hour

// loader is one throwaway role.
type loader struct {
	name   string
	login  DBConn // as the role, on the maintenance database
	server DBConn // as the service's (super)user, on the maintenance database
}

// loaderLogin is how the role logs in: a password over TCP, since peer
// authentication on a Unix socket cannot log in a role without a system
// user of its name. A service reached through a socket directory is
// reached on 127.0.0.1 and the same port.
func loaderLogin(server DBConn, name, password string) DBConn {
	c := server
	c.User, c.Password, c.Database = name, Secret(password), maintenanceDB
	if c.Host == "" || strings.HasPrefix(c.Host, "/") {
		c.Host = "127.0.0.1"
	}
	return c
}

// createLoader creates a loader role on server (after dropping the stale
// ones crashed restores left there) and checks it can log in. On error no
// role is left.
func createLoader(ctx context.Context, server DBConn) (*loader, error) {
	admin, err := ConnectDB(ctx, server)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	dropStaleLoaders(ctx, admin)

	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := LoaderPrefix + hex.EncodeToString(b)
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw)
	l := &loader{name: name, login: loaderLogin(server, name, password), server: server}
	host := HostName()
	// The verifier is computed here, so the password itself is in no
	// statement the server could log.
	_, err = admin.Exec(ctx, "CREATE ROLE "+quoteIdent(name)+
		" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD "+quoteLiteral(scramVerifier(password)))
	if err != nil {
		return nil, Userf(err, "cannot create the temporary role a restore loads the dump as on %s (%v); the service's user must be a superuser, such as postgres", server.Address(), err)
	}
	comment := fmt.Sprintf("restore loader of odoo-backup; host=%s pid=%d created=%s", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if _, err := admin.Exec(ctx, "COMMENT ON ROLE "+quoteIdent(name)+" IS "+quoteLiteral(comment)); err != nil {
		l.drop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("comment on role %s: %w", name, err)
	}
	probe, err := ConnectDB(ctx, l.login)
	if err != nil {
		l.drop(context.WithoutCancel(ctx))
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		from := "<this host's address>/32"
		switch l.login.Host {
		case "127.0.0.1", "localhost":
			from = "127.0.0.1/32"
		case "::1":
			from = "::1/128"
		}
		return nil, Userf(err, "PostgreSQL at %s did not let the temporary restore role log in with a password over TCP (%s), and the dump is only ever loaded as that role, never as a superuser; "+
			"allow it with a pg_hba.conf line such as \"host all all %s scram-sha-256\" (and listen_addresses covering %s), reload PostgreSQL, and restore again (nothing was changed)",
			l.login.Address(), message(err), from, l.login.Host)
	}
	probe.Close(context.WithoutCancel(ctx))
	return l, nil
}

// conn is how to reach database db as the loader.
func (l *loader) conn(db string) DBConn {
	c := l.login
	c.Database = db
	return c
}

// handOver gives everything the loader owns in database db, and db itself,
// to owner, then drops the loader. It runs as the service's (super)user
// and runs no code of the dump: REASSIGN, ALTER DATABASE and DROP OWNED
// fire no trigger. The settings the dump gave its database (ALTER DATABASE
// ... SET, which the owner may do) are reset first: a search_path put
// there would follow the database into every later session, the service's
// superuser's included, and let a function the dump planted stand in for
// a built-in one. pg_dump without --create writes none.
func (l *loader) handOver(ctx context.Context, db, owner string) error {
	admin, err := ConnectDB(ctx, l.server)
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", l.name); err != nil {
		return fmt.Errorf("end the sessions of %s: %w", l.name, err)
	}
	c := l.server
	c.Database = db
	inDB, err := ConnectDB(ctx, c)
	if err != nil {
		return err
	}
	_, err = inDB.Exec(ctx, "REASSIGN OWNED BY "+quoteIdent(l.name)+" TO "+quoteIdent(owner)+"; DROP OWNED BY "+quoteIdent(l.name))
	inDB.Close(context.WithoutCancel(ctx))
	if err != nil {
		return Userf(err, "cannot give the restored database to its owner %q (%v); nothing was changed", owner, err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+quoteIdent(db)+" RESET ALL"); err != nil {
		return Userf(err, "cannot reset the settings the dump gave the restored database (%v); nothing was changed", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+quoteIdent(db)+" OWNER TO "+quoteIdent(owner)); err != nil {
		return Userf(err, "cannot give the restored database to its owner %q (%v); nothing was changed", owner, err)
	}
	return dropRole(ctx, admin, l.name)
}

// drop removes the loader, on every path: its sessions are ended first.
// Databases it still owns are the caller's to drop before.
func (l *loader) drop(ctx context.Context) error {
	admin, err := ConnectDB(ctx, l.server)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	return dropRole(ctx, admin, l.name)
}

func dropRole(ctx context.Context, admin *pgx.Conn, name string) error {
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", name); err != nil {
		return err
	}
	var err error
	for range swapAttempts {
		if _, err = admin.Exec(ctx, "DROP ROLE IF EXISTS "+quoteIdent(name)); err == nil {
			return nil
		}
		// A terminated session that has not exited yet still holds it.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "2BP01" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("drop role %s: %w", name, err)
}

// dropStaleLoaders drops the loader roles crashed restores left on admin's
// server, and the staged databases they still own: a loader of this host
// whose process is gone, or any older than loaderStaleAfter. Best effort.
func dropStaleLoaders(ctx context.Context, admin *pgx.Conn) []string {
	rows, err := admin.Query(ctx, `SELECT rolname, coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE starts_with(rolname, $1)`, LoaderPrefix)
	if err != nil {
		return nil
	}
	type role struct{ name, comment string }
	var roles []role
	for rows.Next() {
		var r role
		if rows.Scan(&r.name, &r.comment) == nil {
			roles = append(roles, r)
		}
	}
	rows.Close()
	host := HostName()
	var dropped []string
	for _, r := range roles {
		if !loaderStale(r.comment, host, time.Now()) {
			continue
		}
		dbs, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)", r.name)
		if err != nil {
			continue
		}
		names, err := pgx.CollectRows(dbs, pgx.RowTo[string])
		if err != nil {
			continue
		}
		ok := true
		for _, db := range names {
			// A loader owns only the staged database of its restore.
			if !strings.Contains(db, "_restoring_") && !strings.Contains(db, "_drill_") {
				ok = false
				continue
			}
			if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db); err != nil {
				ok = false
				continue
			}
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)); err != nil {
				ok = false
			}
		}
		if ok && dropRole(ctx, admin, r.name) == nil {
			dropped = append(dropped, r.name)
		}
	}
	return dropped
}

// loaderStale reads a loader's comment ("... host=H pid=P created=T").
func loaderStale(comment, host string, now time.Time) bool {
	fields := map[string]string{}
	for _, f := range strings.Fields(comment) {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	created, err := time.Parse(time.RFC3339, fields["created"])
	if err != nil || now.Sub(created) > loaderStaleAfter {
		return true
	}
	pid, err := strconv.Atoi(fields["pid"])
	return fields["host"] == host && err == nil && !ProcessAlive(pid)
}

// DropStaleLoaders drops, on the PostgreSQL server of every service, the
// loader roles (and their staged databases) that restores killed in the
// middle left behind. It returns the roles dropped. The servers are swept
// at once, each for at most loaderSweepTimeout; one it cannot reach is
// skipped until next time.
func (e *Engine) DropStaleLoaders(ctx context.Context) []string {
	svcs, err := e.Catalog.Services(ctx)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var dropped []string
	for _, svc := range svcs {
		if svc.Placeholder {
			continue
		}
		server := svc.DB
		server.Database = maintenanceDB
		key := server.Address() + " " + server.User
		if seen[key] {
			continue
		}
		seen[key] = true
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, loaderSweepTimeout)
			defer cancel()
			admin, err := ConnectDB(cctx, server)
			if err != nil {
				return
			}
			defer admin.Close(context.WithoutCancel(ctx))
			for _, name := range dropStaleLoaders(cctx, admin) {
				e.log().Warn("dropped the temporary role of a restore that was interrupted", "role", name, "server", server.Address())
				mu.Lock()
				dropped = append(dropped, name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return dropped
}

// loaderSweepTimeout bounds DropStaleLoaders on one server.
const loaderSweepTimeout = 5 * time.Second

// scramVerifier is the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 5802, RFC 7677), as psql's \password computes it.
func scramVerifier(password string) string {
	const iterations = 4096
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey))
}

// quoteLiteral quotes a string for SQL (standard_conforming_strings on).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
