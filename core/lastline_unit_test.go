package core

import "testing"

// What a PostgreSQL tool's failure becomes in the history: its error line
// with the server's message, never the "Command was" detail after it.
func TestToolLastLine(t *testing.T) {
	tests := []struct{ stderr, want string }{
		{"pg_dump: error: Dumping the contents of table \"mail_message\" failed: PQgetCopyData() failed.\n" +
			"pg_dump: detail: Error message from server: server closed the connection unexpectedly\n" +
			"\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n" +
			"pg_dump: detail: Command was: COPY public.mail_message (id, body) TO stdout;\n",
			`pg_dump: error: Dumping the contents of table "mail_message" failed: PQgetCopyData() failed (server closed the connection unexpectedly)`},
		{"pg_dump: error: query failed: server closed the connection unexpectedly\n",
			"pg_dump: error: query failed: server closed the connection unexpectedly"},
		{"pg_restore: error: could not execute query: ERROR:  syntax error\npg_restore: detail: Command was: CREATE x;\npg_restore: warning: errors ignored on restore: 1\n",
			"pg_restore: error: could not execute query: ERROR:  syntax error"},
		{"some output\nlast words\n\n", "last words"},
		{"", "fallback"},
	}
	for _, tc := range tests {
		tb := &tailBuffer{max: 8 << 10}
		tb.Write([]byte(tc.stderr))
		if got := tb.lastLine("fallback"); got != tc.want {
			t.Errorf("lastLine of %q =\n%q; want\n%q", tc.stderr, got, tc.want)
		}
	}
}
