package core

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// destinationsByName is the one catalog method OffHostRecipient reads.
type destinationsByName map[string]Destination

func (m destinationsByName) Destination(_ context.Context, name string) (Destination, error) {
	if name == "broken" {
		return Destination{}, errors.New("disk I/O error")
	}
	d, ok := m[name]
	if !ok {
		return Destination{}, Userf(ErrNotFound, "destination %q does not exist", name)
	}
	return d, nil
}

// Which backups need an identity file given, the rule the console asks by
// and the engine reads by.
func TestOffHostRecipient(t *testing.T) {
	_, keyPath := testIdentity(t)
	const rec, other = "age1aaa", "age1bbb"
	cat := destinationsByName{
		"off":      {Name: "off", Encrypt: EncryptionSettings{Recipient: rec}},
		"keeps":    {Name: "keeps", Encrypt: EncryptionSettings{Recipient: rec, KeyFile: keyPath}},
		"replaced": {Name: "replaced", Encrypt: EncryptionSettings{Recipient: other, KeyFile: keyPath}},
	}
	for _, c := range []struct {
		name    string
		b       Backup
		want    string
		wantErr string
	}{
		{"plain", Backup{Destination: "off"}, "", ""},
		{"passphrase", Backup{Destination: "off", Encryption: EncryptionPassphrase}, "", ""},
		{"key kept off this host", Backup{Destination: "off", Encryption: "age:" + rec}, rec, ""},
		{"key kept on this host", Backup{Destination: "keeps", Encryption: "age:" + rec}, "", ""},
		{"destination now encrypts to another", Backup{Destination: "replaced", Encryption: "age:" + rec}, rec, ""},
		{"destination gone", Backup{Destination: "gone", Encryption: "age:" + rec}, "", ""},
		{"destination unreadable", Backup{Destination: "broken", Encryption: "age:" + rec}, "", "cannot read destination broken: disk I/O error"},
	} {
		got, err := OffHostRecipient(context.Background(), cat, c.b)
		if got != c.want || (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: got %q, %v; want %q, %q", c.name, got, err, c.want, c.wantErr)
		}
		if BackupRecipient(c.b) == "" && got != "" {
			t.Errorf("%s: a backup with no recipient needs one", c.name)
		}
	}
}

// An identity file is checked before anything runs: the right one passes,
// another recipient's is refused with the advice to give the right one.
func TestCheckIdentityFile(t *testing.T) {
	id, keyPath := testIdentity(t)
	_, otherPath := testIdentity(t)
	rec := id.Recipient().String()
	if err := CheckIdentityFile(keyPath, rec); err != nil {
		t.Errorf("the right identity: %v", err)
	}
	err := CheckIdentityFile(otherPath, rec)
	if !errors.Is(err, ErrAccessDenied) || !strings.HasPrefix(err.Error(), otherPath+" holds the identity of age1") ||
		!strings.HasSuffix(err.Error(), "not of "+rec+", so nothing was read") {
		t.Errorf("another identity: got %v", err)
	}
	if a, _ := AdviceOf(err); a != (Advice{Action: ActionGiveIdentity, Recipient: rec}) {
		t.Errorf("another identity: advice %+v, want to give the identity of %s", a, rec)
	}
}
