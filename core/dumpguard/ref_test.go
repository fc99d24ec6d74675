package dumpguard

import (
	"regexp"
	"strings"
)

// The reference reader below is a second, deliberately plain reading of
// psql's lexer, written line by line with regular expressions, for the
// fuzz test to hold the guard against: whatever the guard passes must hold
// no meta-command for it either.

var (
	refName     = `(?:"(?:[^"]|"")*"|[^\s."(),;]+)`
	refCopy     = regexp.MustCompile(`(?is)^\s*copy\s+` + refName + `(?:\s*\.\s*` + refName + `)*\s*(?:\(.*\))?\s*from\s+stdin\s*$`)
	refContinue = regexp.MustCompile(`^([ \t\f]|--[^\r]*)*\r([ \t\f\r]|--[^\r]*\r)*'`)
)

// metaOutside reports the offset of the first backslash the reference
// reader finds outside quotes, comments and COPY data. A statement is the
// text up to a semicolon outside quotes, comments and parentheses (quotes
// and comments stand as a space); COPY data follows one that reads as
// COPY name FROM stdin, from the next line to a line `\.`.
func metaOutside(dump string) (int, bool) {
	const (
		initial = iota
		xq
		xe
		xb
		xd
		xc
		dolq
		copyData
	)
	state, depth, tag, off, paren := initial, 0, "", 0, 0
	pending := -1 // a string closed at the end of the last line, which the next may continue
	var stmt strings.Builder
	copyNext := false
	for _, line := range strings.SplitAfter(dump, "\n") {
		body := strings.TrimSuffix(line, "\n")
		if state == copyData {
			if body == `\.` || body == "\\.\r" {
				state = initial
			}
			off += len(line)
			continue
		}
		if copyNext {
			state, copyNext = copyData, false
			off += len(line)
			if body == `\.` || body == "\\.\r" {
				state = initial
			}
			continue
		}
		i := 0
		if pending >= 0 {
			if m := refContinue.FindString(body); m != "" {
				state, i = pending, len(m)
			}
			pending = -1
		}
		for i < len(body) {
			s := body[i:]
			switch state {
			case initial:
				switch {
				case s[0] == '\\':
					return off + i, true
				case strings.HasPrefix(s, "--"):
					i += 2 + strings.IndexAny(s[2:]+"\r", "\r")
					stmt.WriteByte(' ')
				case strings.HasPrefix(s, "/*"):
					state, depth, i = xc, 0, i+2
					stmt.WriteByte(' ')
				case s[0] == '\'':
					state, i = xq, i+1
					stmt.WriteByte(' ')
				case s[0] == '"':
					state, i = xd, i+1
					stmt.WriteByte('"')
				case len(s) > 1 && strings.ContainsRune("eE", rune(s[0])) && s[1] == '\'':
					state, i = xe, i+2
					stmt.WriteByte(' ')
				case len(s) > 1 && strings.ContainsRune("bBxX", rune(s[0])) && s[1] == '\'':
					state, i = xb, i+2
					stmt.WriteByte(' ')
				case refDolq(s) != "":
					m := refDolq(s)
					state, tag, i = dolq, m, i+len(m)
					stmt.WriteByte(' ')
				case refIdent(s) != "" && !(len(s) > 2 && strings.ContainsRune("uU", rune(s[0])) && s[1] == '&'):
					if len(s) > 1 && strings.ContainsRune("nN", rune(s[0])) && s[1] == '\'' {
						i++
						break
					}
					m := refIdent(s)
					stmt.WriteString(m)
					i += len(m)
				case s[0] == ';' && paren == 0:
					copyNext = refCopy.MatchString(stmt.String())
					stmt.Reset()
					i++
				default:
					if s[0] == '(' {
						paren++
					} else if s[0] == ')' && paren > 0 {
						paren--
					}
					stmt.WriteByte(s[0])
					i++
				}
			case xq, xe, xb:
				switch {
				case state == xe && s[0] == '\\':
					i += 2
				case s[0] == '\'' && state != xb && strings.HasPrefix(s, "''"):
					i += 2
				case s[0] == '\'':
					i++
					if i == len(body) {
						pending, state = state, initial
					} else if m := refContinue.FindString(body[i:]); m != "" {
						i += len(m)
					} else {
						state = initial
					}
				default:
					i++
				}
			case xd:
				if strings.HasPrefix(s, `""`) {
					i += 2
					stmt.WriteString(`""`)
				} else {
					stmt.WriteByte(s[0])
					if s[0] == '"' {
						state = initial
					}
					i++
				}
			case xc:
				switch {
				case strings.HasPrefix(s, "/*"):
					depth, i = depth+1, i+2
				case strings.HasPrefix(s, "*/"):
					if depth == 0 {
						state = initial
					}
					depth, i = depth-1, i+2
				default:
					i++
				}
			case dolq:
				if strings.HasPrefix(s, tag) {
					state, i = initial, i+len(tag)
				} else {
					i++
				}
			}
		}
		if state == initial || state == xd {
			stmt.WriteByte('\n')
		}
		off += len(line)
	}
	return 0, false
}

func refLetter(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c >= 0x80
}

// refIdent is the name at the start of s: a letter, then letters, digits
// and dollars.
func refIdent(s string) string {
	if s == "" || !refLetter(s[0]) {
		return ""
	}
	n := 1
	for n < len(s) && (refLetter(s[n]) || s[n] >= '0' && s[n] <= '9' || s[n] == '$') {
		n++
	}
	return s[:n]
}

// refDolq is the dollar-quote delimiter at the start of s: $$ or $tag$.
func refDolq(s string) string {
	if s == "" || s[0] != '$' {
		return ""
	}
	n := 1
	for n < len(s) && (refLetter(s[n]) || n > 1 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n < len(s) && s[n] == '$' {
		return s[:n+1]
	}
	return ""
}
