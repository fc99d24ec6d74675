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
	refCopyStart = regexp.MustCompile(`(?i)^COPY\s[^;'"$\\]*\sFROM\s+stdin;[ \t\r]*$`)
	refContinue  = regexp.MustCompile(`^([ \t\f]|--[^\r]*)*\r([ \t\f\r]|--[^\r]*\r)*'`)
	refDolq      = regexp.MustCompile(`^\$([A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9]*)?\$`)
	refIdent     = regexp.MustCompile(`^[A-Za-z\x80-\xff_][A-Za-z\x80-\xff_0-9$]*`)
)

// metaOutside reports the offset of the first backslash the reference
// reader finds outside quotes, comments and COPY data.
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
	state, depth, tag, off := initial, 0, "", 0
	for _, line := range strings.SplitAfter(dump, "\n") {
		body := strings.TrimSuffix(line, "\n")
		if state == copyData {
			if body == `\.` || body == "\\.\r" {
				state = initial
			}
			off += len(line)
			continue
		}
		if state == initial && refCopyStart.MatchString(body) {
			state = copyData
			off += len(line)
			continue
		}
		for i := 0; i < len(body); {
			s := body[i:]
			switch state {
			case initial:
				switch {
				case s[0] == '\\':
					return off + i, true
				case strings.HasPrefix(s, "--"):
					i += 2 + strings.IndexAny(s[2:]+"\r", "\r")
				case strings.HasPrefix(s, "/*"):
					state, depth, i = xc, 0, i+2
				case s[0] == '\'':
					state, i = xq, i+1
				case s[0] == '"':
					state, i = xd, i+1
				case len(s) > 1 && strings.ContainsRune("eE", rune(s[0])) && s[1] == '\'':
					state, i = xe, i+2
				case len(s) > 1 && strings.ContainsRune("bBxX", rune(s[0])) && s[1] == '\'':
					state, i = xb, i+2
				case refDolq.MatchString(s):
					m := refDolq.FindString(s)
					state, tag, i = dolq, m, i+len(m)
				case refIdent.MatchString(s) && !(len(s) > 2 && strings.ContainsRune("uU", rune(s[0])) && s[1] == '&'):
					if len(s) > 1 && strings.ContainsRune("nN", rune(s[0])) && s[1] == '\'' {
						i++
						break
					}
					i += len(refIdent.FindString(s))
				default:
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
					if m := refContinue.FindString(body[i:]); m != "" {
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
				} else {
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
		off += len(line)
	}
	return 0, false
}
