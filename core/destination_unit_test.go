package core

import (
	"encoding/json"
	"testing"
	"time"
)

// The settings of a destination are split by kind in Go, but its JSON (what
// `destination list --json` prints) stays flat, keys in the order they have
// always had, and secrets never appear.
func TestDestinationJSONIsFlat(t *testing.T) {
	d := Destination{ID: 7, Name: "s3-eu", Kind: DestinationS3,
		Local: LocalSettings{Dir: "/srv/backups"},
		S3: S3Settings{Endpoint: "s3.example.com:443", Region: "eu-west-1", Bucket: "bkt", Prefix: "odoo", AccessKey: "AK",
			SecretKey: "s3cr3t-value", NoTLS: true, SSE: "SSE-KMS", SSEKMSKeyID: "key-1", CAFile: "/etc/ca.pem"},
		Encrypt:   EncryptionSettings{Recipient: "age1xyz", KeyFile: "/etc/key.txt", Passphrase: "pass-phrase-value"},
		Layout:    LayoutPool,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	const want = `{"id":7,"name":"s3-eu","kind":"s3","dir":"/srv/backups","endpoint":"s3.example.com:443","region":"eu-west-1",` +
		`"bucket":"bkt","prefix":"odoo","access_key":"AK","no_tls":true,"sse":"SSE-KMS","sse_kms_key_id":"key-1",` +
		`"ca_file":"/etc/ca.pem","encrypt_recipient":"age1xyz","encrypt_key_file":"/etc/key.txt","layout":"pool","created_at":"2026-01-02T03:04:05Z"}`
	got, err := json.Marshal(d)
	if err != nil || string(got) != want {
		t.Fatalf("json.Marshal = %s, %v;\nwant %s", got, err, want)
	}
	var back Destination
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	// Secrets are not in the JSON, so they do not come back.
	d.S3.SecretKey, d.Encrypt.Passphrase = "", ""
	if back != d {
		t.Errorf("json.Unmarshal(%s) = %+v; want %+v", got, back, d)
	}
	if got, _ := json.Marshal([]Destination{{Name: "disk", Kind: DestinationLocal, Local: LocalSettings{Dir: "/d"}}}); string(got) !=
		`[{"id":0,"name":"disk","kind":"local","dir":"/d","layout":"zip","created_at":"0001-01-01T00:00:00Z"}]` {
		t.Errorf("a local destination's JSON = %s; want only its directory and layout beside its name", got)
	}
}
