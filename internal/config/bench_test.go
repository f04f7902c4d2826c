package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse loads a config of 10,000 http targets.
func BenchmarkParse(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("defaults: {interval: 1s, timeout: 500ms}\ntargets:\n")
	for i := range 10_000 {
		fmt.Fprintf(&doc, "  - id: t%d\n    kind: http\n    url: http://127.0.0.1:8080/%d\n    labels: {app: bench}\n    http: {expect_status: [\"2xx\"]}\n", i, i)
	}
	data := []byte(doc.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse("bench.yaml", data, env()); err != nil {
			b.Fatal(err)
		}
	}
}
