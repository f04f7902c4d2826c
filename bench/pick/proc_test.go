package main

import (
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (heck) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0",
			3 * time.Second, false},
		{"comm with spaces and parens", "99 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0",
			100 * time.Millisecond, false},
		{"no comm", "1234 heck S 1", 0, true},
		{"short", "1 (x) S 1 2 3", 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	got, err := parseRSS([]byte("Name:\theck\nVmHWM:\t  9000 kB\nVmRSS:\t  2048 kB\n"))
	if err != nil || got != 2048*1024 {
		t.Errorf("parseRSS = %d, %v; want %d", got, err, 2048*1024)
	}
	if _, err := parseRSS([]byte("Name:\theck\n")); err == nil {
		t.Error("parseRSS without VmRSS: want an error")
	}
}
