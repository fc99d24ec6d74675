package core

import (
	"context"
	"fmt"
)

// Role is what a database user may do with a catalog kept in PostgreSQL,
// granted and enforced by the server: a viewer reads services, history,
// status and the audit trail, never a secret; an operator also backs up,
// verifies, drills, rotates and downloads (and so reads the destinations'
// and services' secrets it needs to reach them); an admin also restores,
// uploads, deletes and changes every configuration and role. The owner of
// the catalog (the user that created its tables, or a superuser), and
// anyone on an SQLite catalog, can do everything.
type Role string

const (
	RoleNone     Role = "none"
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
	RoleOwner    Role = "owner"
)

// Roles are the roles that can be granted, weakest first.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// Allows reports whether a user with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() }

// ParseRole reads a role that can be granted.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Userf(ErrInvalid, "%q is not a role; give viewer, operator or admin", s)
}

// RoleMember is a database user and its role on a catalog.
type RoleMember struct {
	User string `json:"user"`
	Role Role   `json:"role"`
}

// ActionAskForRole: the catalog refused an operation to this database user;
// Detail is the role it needs, which an admin of the catalog can grant.
const ActionAskForRole Action = "ask-for-role"

// ActionVerify is verifying a backup. It changes nothing, and is audited
// only when the catalog refuses it.
const ActionVerify = "verify"

// ActionServiceCopy is copying a service: it adds a service and restores
// into its new database, so it needs what both need.
const ActionServiceCopy = "service copy"

// Role changes, audited.
const (
	ActionRoleGrant  = "role grant"
	ActionRoleRevoke = "role revoke"
)

// ActionRole is the role the engine's action needs: backing up and what
// comes with it (rotation, drills, copies, verifying and downloading, which
// read the destinations' secrets) needs an operator; restoring, uploading
// and deleting need an admin.
func ActionRole(action string) Role {
	switch action {
	case ActionBackup, ActionCopy, ActionRotate, ActionDrill, ActionVerify, ActionDownload:
		return RoleOperator
	}
	return RoleAdmin
}

// Doing names an action as a refusal says it: "restoring needs the admin
// role".
func Doing(action string) string {
	switch action {
	case ActionBackup:
		return "backing up"
	case ActionRestore:
		return "restoring"
	case ActionDownload:
		return "downloading a backup"
	case ActionDelete:
		return "deleting a backup"
	case ActionUpload:
		return "uploading a backup"
	case ActionCopy:
		return "copying"
	case ActionRotate:
		return "rotating backups"
	case ActionDrill:
		return "running a drill"
	case ActionVerify:
		return "verifying a backup"
	case ActionServiceCopy:
		return "copying a service"
	}
	return action
}

// Gate is the catalog's side of a role check: Permit asks the catalog's
// server whether this database user may do action, which needs role need,
// before anything is done. It returns nil when it may, and an error
// wrapping ErrForbidden, whose message names the user's role, when the
// server refuses. A catalog without roles (SQLite) permits everything.
type Gate interface {
	Permit(ctx context.Context, action string, need Role) error
}

// permit asks the catalog, when it has roles, whether action may run: the
// server decides, before any backup is read, written or replaced. Each
// audited operation calls it after arming its audit record, so a refusal
// is recorded as failed.
func (e *Engine) permit(ctx context.Context, action string) error {
	if ctx.Value(requestedKey{}) != nil {
		return nil
	}
	g, ok := e.Catalog.(Gate)
	if !ok {
		return nil
	}
	return g.Permit(ctx, action, ActionRole(action))
}

// requestedKey marks the work of a request another host made: the
// catalog's server checked the requester's role when it accepted the
// request, so the daemon that runs it does not ask again for its own.
type requestedKey struct{}

// RoleRefusal is the sentence for a refusal: who was refused what, with
// which role, and what it needs.
func RoleRefusal(user string, has Role, doing string, need Role) string {
	who := fmt.Sprintf("database user %s has the %s role", user, has)
	if has == RoleNone || has == "" {
		who = fmt.Sprintf("database user %s has no role on this catalog", user)
	}
	return fmt.Sprintf("%s, and %s needs the %s role", who, doing, need)
}
