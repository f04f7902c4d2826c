package wire

// Problem types of the incident and status page routes.
const (
	TypeInvalidIncident   = problemBase + "invalid-incident"
	TypeNoIncidents       = problemBase + "incidents-unsupported"
	TypeInvalidStatusPage = problemBase + "invalid-status-page"
	TypeNoStatusPages     = problemBase + "status-pages-unsupported"
)
