package core

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ServiceCatalog is what adding or changing a service needs of the catalog.
type ServiceCatalog interface {
	AddService(ctx context.Context, s *Service, template string) error
	UpdateService(ctx context.Context, s Service) error
	Services(ctx context.Context) ([]Service, error)
}

// ServiceOptions say how a service is added or changed.
type ServiceOptions struct {
	// Template gives a new service that template's configurations.
	Template string
	// Check connects to the service's database before saving it.
	Check bool
	// Shared allows the service to use a database or filestore that another
	// service already uses (SharedResourceError otherwise).
	Shared bool
}

// SharedResourceError: the service would back up and, worse, restore over a
// database or filestore directory that another service already uses. Two
// services on one database make restores of one replace the other's data
// and their rotations count each other's backups as their own, so it is
// refused unless asked for explicitly. It wraps ErrInvalid.
type SharedResourceError struct {
	// Other is the service already using it.
	Other string
	// What is "database" or "filestore".
	What string
	// Where is the database ("prod on localhost:5432") or the directory.
	Where string
}

func (e *SharedResourceError) Error() string {
	return fmt.Sprintf("service %s already uses the %s %s", e.Other, e.What, e.Where)
}

func (e *SharedResourceError) Unwrap() error { return ErrInvalid }

// ConnectionCheckError: the service's database did not answer the check
// made before saving it; nothing was saved. Front ends say how to save it
// anyway (the command line's --no-check, the console's Check DB box).
type ConnectionCheckError struct{ Err error }

func (e *ConnectionCheckError) Error() string { return e.Err.Error() }
func (e *ConnectionCheckError) Unwrap() error { return e.Err }

// AddService checks a new service and saves it: its name and database name
// first (before anything connects), then that no other service uses its
// database or filestore, then (with Check) that its database answers. The
// command line and the console both add services through it.
func AddService(ctx context.Context, cat ServiceCatalog, s *Service, opt ServiceOptions) error {
	if err := checkService(ctx, cat, *s, opt); err != nil {
		return err
	}
	return cat.AddService(ctx, s, opt.Template)
}

// UpdateService checks a changed service as AddService does (s.ID names the
// service being changed, so it does not conflict with itself) and saves it.
// Sharing it already had (allowed once with Shared) is not refused again:
// only a change that makes it share something new is.
func UpdateService(ctx context.Context, cat ServiceCatalog, s Service, opt ServiceOptions) error {
	if err := checkService(ctx, cat, s, opt); err != nil {
		return err
	}
	return cat.UpdateService(ctx, s)
}

func checkService(ctx context.Context, cat ServiceCatalog, s Service, opt ServiceOptions) error {
	if err := ValidateName("service", s.Name); err != nil {
		return err
	}
	if s.DB.Database == "" {
		return Userf(ErrInvalid, "service %s needs the name of its PostgreSQL database", s.Name)
	}
	if err := ValidateDatabaseName(s.DB.Database); err != nil {
		return err
	}
	if s.Host != "" {
		if err := ValidateHostName(s.Host); err != nil {
			return err
		}
	}
	if err := CheckTargets(s); err != nil {
		return err
	}
	if !opt.Shared {
		others, err := cat.Services(ctx)
		if err != nil {
			return err
		}
		if s.ID != 0 {
			others = stillSeparate(s.ID, others)
		}
		if err := SharedResource(s, others); err != nil {
			return err
		}
	}
	if opt.Check {
		conn, err := ConnectDB(ctx, s.DB)
		if err != nil {
			return &ConnectionCheckError{Err: err}
		}
		conn.Close(ctx)
	}
	return nil
}

// SharedResource returns a SharedResourceError when another of services
// (not s itself, by id or name, nor a placeholder without a connection)
// uses s's database (same server and database name; localhost, 127.0.0.1,
// ::1 and a Unix socket directory are one server) or a filestore directory
// that is s's, inside it or around it. Otherwise nil. Services of
// different hosts (ServiceHost) share no filestore directory, nor a local
// server: each host's localhost is its own machine.
func SharedResource(s Service, services []Service) error {
	for _, o := range services {
		if o.Placeholder || o.Name == s.Name || (s.ID != 0 && o.ID == s.ID) {
			continue
		}
		otherHost := ServiceHost(o) != ServiceHost(s)
		if o.DB.Database == s.DB.Database && o.DB.Port == s.DB.Port && sameServer(o.DB.Host, s.DB.Host) &&
			!(otherHost && sameServer(s.DB.Host, "localhost")) {
			return &SharedResourceError{Other: o.Name, What: "database", Where: fmt.Sprintf("%s on %s", s.DB.Database, s.DB.Address())}
		}
		if !otherHost && overlaps(o.FilestoreDir, s.FilestoreDir) {
			return &SharedResourceError{Other: o.Name, What: "filestore", Where: o.FilestoreDir}
		}
	}
	return nil
}

// stillSeparate leaves out of services those that the service with id, as
// it is saved now, already shares something with.
func stillSeparate(id int64, services []Service) []Service {
	var before *Service
	for i := range services {
		if services[i].ID == id {
			before = &services[i]
		}
	}
	if before == nil {
		return services
	}
	var out []Service
	for _, o := range services {
		if o.ID == id || SharedResource(*before, []Service{o}) == nil {
			out = append(out, o)
		}
	}
	return out
}

func sameServer(a, b string) bool {
	norm := func(h string) string {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		switch {
		case h == "", h == "localhost", h == "127.0.0.1", h == "::1", strings.HasPrefix(h, "/"):
			return "local"
		}
		return h
	}
	return norm(a) == norm(b)
}

// overlaps reports whether one directory is the other or holds it: a
// restore replaces a filestore directory whole.
func overlaps(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	a, b = filepath.Clean(a), filepath.Clean(b)
	inside := func(dir, parent string) bool {
		rel, err := filepath.Rel(parent, dir)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	return inside(a, b) || inside(b, a)
}

// IsSharedResource reports whether err is a SharedResourceError, returning it.
func IsSharedResource(err error) (*SharedResourceError, bool) {
	var sr *SharedResourceError
	ok := errors.As(err, &sr)
	return sr, ok
}

// NoConnectionYet is what a placeholder service (made by a catalog rebuild)
// shows where a service shows its server.
const NoConnectionYet = "no connection yet"

// ServerLabel is the service's PostgreSQL server as people read it: host:port,
// or NoConnectionYet for a placeholder, which has none.
func (s Service) ServerLabel() string {
	if s.Placeholder {
		return NoConnectionYet
	}
	return s.DB.Address()
}
