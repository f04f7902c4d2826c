package probe

import (
	"strconv"
	"time"
)

// DaysLeft is the whole number of days from now to notAfter, rounded down:
// negative once expired.
func DaysLeft(notAfter, now time.Time) int {
	d := notAfter.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// CertProblem says what is wrong with a certificate expiring at notAfter
// when it must last minDays more days ("certificate expires in 3 days,
// minimum 14", "certificate expired 2 days ago"), or "" when nothing is.
func CertProblem(notAfter, now time.Time, minDays int) string {
	if !notAfter.After(now) {
		return "certificate expired " + ago(now.Sub(notAfter))
	}
	days := DaysLeft(notAfter, now)
	if days >= minDays {
		return ""
	}
	return "certificate expires in " + strconv.Itoa(days) + " " + plural(days, "day", "days") + ", minimum " + strconv.Itoa(minDays)
}

func ago(d time.Duration) string {
	if d >= 24*time.Hour {
		n := int(d / (24 * time.Hour))
		return strconv.Itoa(n) + " " + plural(n, "day", "days") + " ago"
	}
	return d.Round(time.Minute).String() + " ago"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
