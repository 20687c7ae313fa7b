package redisconn

import "strings"

// HashTag is the part of a key Redis Cluster hashes to pick its slot: the
// text between the first "{" and the next "}" when that is not empty, else
// the whole key. Keys with equal hash tags share a slot, which a Lua
// script or a MULTI touching them together needs on a Cluster.
func HashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}
