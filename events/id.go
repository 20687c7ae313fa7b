package events

import (
	"strconv"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// MaxIDLength is the longest valid stream id: two 20-digit uint64s and a dash.
const MaxIDLength = 41

// StreamID is a Redis Stream entry id: milliseconds, then a sequence number
// within that millisecond. Ids of one stream strictly increase, so SSE
// ordering and de-duplication compare them numerically (never as strings:
// "9-0" < "10-0").
type StreamID struct {
	Ms  uint64
	Seq uint64
}

// String returns the canonical "<ms>-<seq>" form.
func (id StreamID) String() string {
	b := make([]byte, 0, MaxIDLength)
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, id.Seq, 10)
	return string(b)
}

// IsZero reports whether id is 0-0, which precedes every entry.
func (id StreamID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Compare returns -1, 0 or +1 as id is before, equal to or after o.
func (id StreamID) Compare(o StreamID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Less reports whether id comes before o.
func (id StreamID) Less(o StreamID) bool { return id.Compare(o) < 0 }

// ParseID parses a Last-Event-ID (or any stream id) in the strict canonical
// form "<ms>-<seq>": two decimal uint64s without sign, spaces or leading
// zeros ("0" itself is fine), at most MaxIDLength bytes. A bare "<ms>" is
// refused: the server only ever sends full ids, and a bare millisecond is
// ambiguous as an exclusive start. The error is an apperr Invalid naming
// the Last-Event-ID field, so an API handler can answer 400 before streaming.
func ParseID(s string) (StreamID, error) {
	bad := func(why string) (StreamID, error) {
		return StreamID{}, apperr.Invalidf("Last-Event-ID", "%s", why)
	}
	if len(s) == 0 {
		return bad("must not be empty")
	}
	if len(s) > MaxIDLength {
		return bad("too long")
	}
	msPart, seqPart, ok := strings.Cut(s, "-")
	if !ok {
		return bad(`must look like "<ms>-<seq>"`)
	}
	ms, ok := parseDecimal(msPart)
	if !ok {
		return bad(`must look like "<ms>-<seq>" with decimal numbers`)
	}
	seq, ok := parseDecimal(seqPart)
	if !ok {
		return bad(`must look like "<ms>-<seq>" with decimal numbers`)
	}
	return StreamID{Ms: ms, Seq: seq}, nil
}

// parseDecimal accepts only canonical decimal uint64s: digits, no leading
// zero unless the number is 0, no overflow.
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// redisID parses an id that came from Redis itself.
func redisID(s string) (StreamID, bool) {
	id, err := ParseID(s)
	return id, err == nil
}
