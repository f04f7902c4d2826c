package config

import (
	"reflect"
	"strings"
)

// suggest is the fix for an unknown key in a struct of type t: the known
// key it is a near miss of, or the block it belongs in, or the list of
// known keys.
func suggest(key string, t reflect.Type, fields *structFields) string {
	if best := nearest(key, fields.names); best != "" {
		return "did you mean \"" + best + "\"?"
	}
	// A key of a nested block written one level too high, such as
	// "expect_status" beside "url" instead of under "http:", or a typo of
	// one ("intervall" at the top, for defaults.interval).
	var blocks []string
	near := ""
	for _, name := range fields.names {
		ft := t.FieldByIndex(fields.byName[name]).Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || ft == durationType || ft == timeType {
			continue
		}
		sub := fieldsOf(ft)
		if _, ok := sub.byName[key]; ok {
			blocks = append(blocks, "\""+name+":\"")
		} else if n := nearest(key, sub.names); n != "" && near == "" {
			near = name + "." + n
		}
	}
	if len(blocks) > 0 {
		return "it belongs under " + orList(blocks) + "; move it there"
	}
	if near != "" {
		return "did you mean \"" + near + "\"?"
	}
	return "remove it, or use one of: " + strings.Join(fields.names, ", ")
}

func orList(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// nearest returns the candidate key most like key, if one is close enough to
// be a typo: the same once case, '-' and '_' are ignored, or within an edit
// distance that grows with the key's length.
func nearest(key string, candidates []string) string {
	nk := normKey(key)
	if len(nk) > maxKeyLen {
		return "" // not a typo of a key heck knows
	}
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		nc := normKey(c)
		if nc == nk {
			return c
		}
		limit := 1
		if len(c) >= 5 {
			limit = 2
		}
		if len(c) >= 10 {
			limit = 3
		}
		if dist := editDistance(nk, nc); dist <= limit && dist < bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// normKey lowercases s and drops '_' and '-'.
func normKey(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// maxKeyLen bounds the keys compared: heck's are far shorter.
const maxKeyLen = 63

// editDistance is the Levenshtein distance between a and b (each at most
// maxKeyLen bytes), counting an adjacent transposition as one edit.
func editDistance(a, b string) int {
	if len(a) > maxKeyLen || len(b) > maxKeyLen {
		return 1 << 30
	}
	var rows [3][maxKeyLen + 1]int
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
