package probe

import (
	"testing"
	"time"
)

func TestCertProblem(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		after   time.Duration
		minDays int
		days    int
		want    string
	}{
		{72*time.Hour + time.Minute, 3, 3, ""},
		{72*time.Hour - time.Minute, 3, 2, "certificate expires in 2 days, minimum 3"},
		{25 * time.Hour, 14, 1, "certificate expires in 1 day, minimum 14"},
		{90 * 24 * time.Hour, 0, 90, ""},
		{0, 0, 0, "certificate expired 0s ago"},
		{-time.Hour, 0, -1, "certificate expired 1h0m0s ago"},
		{-49 * time.Hour, 14, -3, "certificate expired 2 days ago"},
	}
	for _, tt := range tests {
		if got := DaysLeft(now.Add(tt.after), now); got != tt.days {
			t.Errorf("DaysLeft(+%v) = %d, want %d", tt.after, got, tt.days)
		}
		if got := CertProblem(now.Add(tt.after), now, tt.minDays); got != tt.want {
			t.Errorf("CertProblem(+%v, %d) = %q, want %q", tt.after, tt.minDays, got, tt.want)
		}
	}
}
