package config

import (
	"strings"
	"testing"
)

func TestStatusPagesLoad(t *testing.T) {
	c, err := Parse("heck.yaml", []byte(`
targets:
  - id: web
    kind: http
    url: http://127.0.0.1:8080/
status_pages:
  - id: public
    title: Example status
    host: status.example.com
    show_latency: true
    groups:
      - name: Website
        entries:
          - target: web
            display_name: Website
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(c.StatusPages) != 1 {
		t.Fatalf("status pages = %+v", c.StatusPages)
	}
	p := c.StatusPages[0]
	if p.ID != "public" || p.Host != "status.example.com" || !p.ShowLatency || p.Groups[0].Entries[0].DisplayName != "Website" {
		t.Fatalf("page = %+v", p)
	}
}

func TestStatusPagesProblems(t *testing.T) {
	page := func(id, host string) string {
		return `
  - id: ` + id + `
    title: T
    host: ` + host + `
    groups:
      - name: G
        entries:
          - target: web
            display_name: Website`
	}
	tests := []struct {
		name, pages string
		want        []string
	}{
		{"duplicate id", page("a", "a.example.com") + page("a", "b.example.com"), []string{`status_pages[1].id: "a" is the id of status_pages[0] too`}},
		{"duplicate host", page("a", "x.example.com") + page("b", "X.example.com."), []string{
			`status_pages[1].host: "X.example.com." has upper-case letters`, `status_pages[1].host: "X.example.com." is the host of status_pages[0] too`}},
		{"host with port", page("a", "status.example.com:8080"), []string{`status_pages[0].host: "status.example.com:8080" is not a bare host name`}},
		{"unknown field", page("a", "s.example.com") + "\n    colour: red", []string{"status_pages[0]", "colour"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("heck.yaml", []byte("targets:\n  - id: web\n    kind: tcp\n    address: 127.0.0.1:1\nstatus_pages:"+tc.pages+"\n"))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}
