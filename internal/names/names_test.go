package names

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"Aria", nil},
		{"Ærwyn Ōkami 龍", nil},
		{"a b", nil},
		{"portrait.png", nil},
		{"gpj\u202e.exe", ErrBidi},
		{"x\u2066y", ErrBidi},
		{"x\u2069", ErrBidi},
		{"\u200fname", ErrBidi},
		{"a\x00b", ErrControl},
		{"a\nb", ErrControl},
		{"a\u2028b", ErrControl},
		{"\u200b\u200b", ErrInvisible},
		{"\u200d\ufeff", ErrInvisible},
		{"\u3164", ErrInvisible},
		{"   ", ErrInvisible},
		{"\u00a0\u2003", ErrInvisible},
	} {
		if got := Check(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("Check(%+q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
