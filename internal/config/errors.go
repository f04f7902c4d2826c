package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is, which field,
// the value found (never a secret's), what is wrong and how to fix it.
type Problem struct {
	// File is the config file ("" for the command line or a config built in
	// code).
	File string `json:"file,omitempty"`
	// Line and Column locate the problem in File, 1-based; 0 when unknown
	// (a default value, a command-line flag).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Field is the path of the field ("targets[0].http.expect_status[1]",
	// "--listen" for a flag); "" for a problem with the file as a whole.
	Field string `json:"field,omitempty"`
	// Value is the offending value as written; "" when missing or secret.
	Value string `json:"value,omitempty"`
	// Problem says what is wrong, Fix what to do about it.
	Problem string `json:"problem"`
	Fix     string `json:"fix,omitempty"`
}

// String formats p as one line:
//
//	heck.yaml:12:5: targets[0].interval: "50ms" is too short; set an interval from 100ms to 24h
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Column)
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		fmt.Fprintf(&b, "%s: ", p.File)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	if p.Value != "" {
		fmt.Fprintf(&b, "%q ", p.Value)
	}
	b.WriteString(p.Problem)
	if p.Fix != "" {
		b.WriteString("; ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// LoadError holds every problem found in a configuration, in file order.
type LoadError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by position; those without a line (defaults,
// flags) come last, in the order found.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// asError returns nil for no problems, or a sorted *LoadError.
func asError(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return &LoadError{Problems: ps}
}
