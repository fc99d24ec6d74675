package core

import (
	"errors"
	"testing"
)

func TestRoleAllows(t *testing.T) {
	for _, tc := range []struct {
		has, need Role
		want      bool
	}{
		{RoleViewer, RoleViewer, true}, {RoleViewer, RoleOperator, false}, {RoleViewer, RoleAdmin, false},
		{RoleOperator, RoleOperator, true}, {RoleOperator, RoleAdmin, false},
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleOperator, true},
		{RoleOwner, RoleAdmin, true}, {RoleNone, RoleViewer, false},
	} {
		if got := tc.has.Allows(tc.need); got != tc.want {
			t.Errorf("%s allows %s: got %v, want %v", tc.has, tc.need, got, tc.want)
		}
	}
}

// Backing up and what reads a backup need an operator; what replaces or
// removes data needs an admin.
func TestActionRole(t *testing.T) {
	for action, want := range map[string]Role{
		ActionBackup: RoleOperator, ActionVerify: RoleOperator, ActionDownload: RoleOperator, ActionDrill: RoleOperator,
		ActionRotate: RoleOperator, ActionCopy: RoleOperator,
		ActionRestore: RoleAdmin, ActionUpload: RoleAdmin, ActionDelete: RoleAdmin, ActionServiceCopy: RoleAdmin,
	} {
		if got := ActionRole(action); got != want {
			t.Errorf("%s needs %s, want %s", action, got, want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, bad := range []string{"owner", "none", "Admin", ""} {
		if _, err := ParseRole(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRole(%q): %v, want invalid", bad, err)
		}
	}
}

// A secret hidden by the catalog's server resolves to a refusal that asks
// for the role that may read it.
func TestHiddenSecretIsForbidden(t *testing.T) {
	s := UnreadableSecret("the secret key of destination \"s3\" is hidden from database user bob, who has the viewer role",
		Advice{Action: ActionAskForRole, Detail: string(RoleOperator), User: "bob"})
	_, err := s.Resolve("the secret key")
	if !errors.Is(err, ErrForbidden) || errors.Is(err, ErrAccessDenied) {
		t.Errorf("got %v, want a refusal wrapping ErrForbidden only", err)
	}
	if a, ok := AdviceOf(err); !ok || a.Action != ActionAskForRole || a.Detail != "operator" || a.User != "bob" {
		t.Errorf("got advice %+v, want to ask for the operator role", a)
	}
}
